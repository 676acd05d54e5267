using System.Buffers;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Notifications.Api.Hubs;

/// <summary>
/// A SignalR hub protocol (JSON or MessagePack), except that arguments that do not fit the hub method (wrong types,
/// wrong count) are explained to the caller. SignalR only passes a HubException's message through to clients (without
/// detailed errors), so the protocol's own, payload-free description is re-raised as one; otherwise the client would
/// read "Failed to invoke 'Sync' due to an error on the server." for its own mistake. It also writes a
/// <see cref="PushBatch"/> as the invocations it holds.
/// </summary>
public sealed class ExplainingHubProtocol(IHubProtocol inner) : IHubProtocol
{
    public string Name => inner.Name;

    public int Version => inner.Version;

    public TransferFormat TransferFormat => inner.TransferFormat;

    public bool IsVersionSupported(int version) => inner.IsVersionSupported(version);

    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HubMessage? message)
    {
        if (!inner.TryParseMessage(ref input, binder, out message))
        {
            return false;
        }

        if (message is InvocationBindingFailureMessage failure && failure.BindingFailure.SourceException is not HubException)
        {
            message = new InvocationBindingFailureMessage(failure.InvocationId, failure.Target,
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(new HubException(Explain(failure.BindingFailure.SourceException))));
        }

        return true;
    }

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output)
    {
        if (PushBatch.In(message) is { } batch)
        {
            batch.WriteTo(inner, output);
        }
        else
        {
            inner.WriteMessage(message, output);
        }
    }

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message)
    {
        if (PushBatch.In(message) is not { } batch)
        {
            return inner.GetMessageBytes(message);
        }

        var output = new ArrayBufferWriter<byte>();
        batch.WriteTo(inner, output);
        return output.WrittenMemory;
    }

    /// <summary>
    /// The protocols' own messages name only counts and the rule broken ("Invocation provides 1 argument(s) but target
    /// expects 2.", "Error binding arguments. Make sure that the types of the provided values match the types of the
    /// hub method being invoked."); anything else (a reader's message could quote input) is replaced by a fixed text.
    /// </summary>
    private static string Explain(Exception exception) => exception is InvalidDataException && exception.Message.Length <= 200
        ? exception.Message
        : "The arguments do not match the hub method's parameters.";
}
