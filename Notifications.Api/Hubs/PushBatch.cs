using System.Buffers;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Notifications.Api.Hubs;

/// <summary>
/// Several pushes to the same connections, sent as one invocation of <see cref="Target"/> through any lifetime manager
/// (local, Redis, the Redis-outage fallback) and written by <see cref="ExplainingHubProtocol"/> as the separate
/// invocations it holds, back to back. Clients see ordinary invocations; each connection gets them in one transport
/// write (one socket send, one wake-up of the reader) instead of one each.
/// </summary>
public sealed class PushBatch
{
    /// <summary>Never on the wire: the protocol writes the batch's invocations in its place.</summary>
    public const string Target = "\0PushBatch";

    private readonly List<InvocationMessage> invocations = [];

    public void Add(string method, object? argument) => invocations.Add(new InvocationMessage(method, [argument]));

    /// <summary>The batch carried by <paramref name="message"/>, if it is one.</summary>
    public static PushBatch? In(HubMessage message) =>
        message is InvocationMessage { Target: Target, Arguments: [PushBatch batch] } ? batch : null;

    public void WriteTo(IHubProtocol protocol, IBufferWriter<byte> output)
    {
        foreach (var invocation in invocations)
        {
            protocol.WriteMessage(invocation, output);
        }
    }
}
