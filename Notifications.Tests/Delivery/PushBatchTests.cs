using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using Notifications.Api.Hubs;
using Notifications.Api.Inbox;
using Notifications.Api.Sending;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Tests.Delivery;

/// <summary>
/// A burst of broadcasts travels through the lifetime managers as one <see cref="PushBatch"/>; the hub protocol writes
/// it as the ordinary invocations it holds, so no client ever sees the batch itself.
/// </summary>
public sealed class PushBatchTests
{
    private static readonly NotificationDto Notification = new(
        41, "system.notice", "Maintenance", "Tonight", JsonElement.Parse("""{"at":"22:00"}"""), "high", "admin-1",
        new DateTime(2026, 11, 27, 8, 0, 0, DateTimeKind.Utc), null, null, null, null);

    public static TheoryData<string> Protocols => ["json", "messagepack"];

    private static IHubProtocol Inner(string name) => name == "json"
        ? new JsonHubProtocol()
        : new MessagePackHubProtocol(Options.Create(new MessagePackHubProtocolOptions { SerializerOptions = MessagePackContract.SerializerOptions }));

    private static PushBatch Batch()
    {
        var batch = new PushBatch();
        batch.Add("ReceiveNotification", Notification);
        batch.Add("NotificationRetracted", 40L);
        batch.Add("ReceiveNotification", Notification with { Id = 42 });
        return batch;
    }

    /// <summary>What the inner protocol writes for the three invocations sent one by one.</summary>
    private static byte[] OneByOne(IHubProtocol inner) =>
    [
        .. inner.GetMessageBytes(new InvocationMessage("ReceiveNotification", [Notification])).Span,
        .. inner.GetMessageBytes(new InvocationMessage("NotificationRetracted", [40L])).Span,
        .. inner.GetMessageBytes(new InvocationMessage("ReceiveNotification", [Notification with { Id = 42 }])).Span,
    ];

    [Theory]
    [MemberData(nameof(Protocols))]
    public void A_batch_serialized_once_for_every_connection_is_its_invocations_back_to_back(string protocol)
    {
        var inner = Inner(protocol);

        var bytes = new ExplainingHubProtocol(inner).GetMessageBytes(new InvocationMessage(PushBatch.Target, [Batch()]));

        Assert.Equal(OneByOne(inner), bytes.ToArray());
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void A_batch_written_to_one_connection_is_its_invocations_back_to_back(string protocol)
    {
        var inner = Inner(protocol);
        var output = new ArrayBufferWriter<byte>();

        new ExplainingHubProtocol(inner).WriteMessage(new InvocationMessage(PushBatch.Target, [Batch()]), output);

        Assert.Equal(OneByOne(inner), output.WrittenSpan.ToArray());
    }

    [Fact]
    public void Clients_read_the_batch_as_separate_invocations_in_order()
    {
        var json = new JsonHubProtocol();
        var bytes = new ExplainingHubProtocol(json).GetMessageBytes(new InvocationMessage(PushBatch.Target, [Batch()]));
        var input = new ReadOnlySequence<byte>(bytes);
        var read = new List<string>();

        while (json.TryParseMessage(ref input, new ClientBinder(), out var message))
        {
            var invocation = Assert.IsType<InvocationMessage>(message);
            read.Add($"{invocation.Target} {invocation.Arguments[0] switch { JsonElement n => n.GetProperty("id").GetInt64(), var id => id }}");
        }

        Assert.Equal(["ReceiveNotification 41", "NotificationRetracted 40", "ReceiveNotification 42"], read);
        Assert.True(input.IsEmpty);
    }

    [Fact]
    public void Other_messages_pass_through_unchanged()
    {
        var json = new JsonHubProtocol();
        var ping = PingMessage.Instance;
        var invocation = new InvocationMessage("UnreadCountChanged", [3]);

        Assert.Equal(json.GetMessageBytes(ping).ToArray(), new ExplainingHubProtocol(json).GetMessageBytes(ping).ToArray());
        Assert.Equal(json.GetMessageBytes(invocation).ToArray(), new ExplainingHubProtocol(json).GetMessageBytes(invocation).ToArray());
    }

    /// <summary>Binds what a client of the contract expects: a notification object, or a retracted id.</summary>
    private sealed class ClientBinder : IInvocationBinder
    {
        public IReadOnlyList<Type> GetParameterTypes(string methodName) =>
            methodName == "NotificationRetracted" ? [typeof(long)] : [typeof(JsonElement)];

        public Type GetReturnType(string invocationId) => typeof(object);

        public Type GetStreamItemType(string streamId) => typeof(object);
    }
}

/// <summary>Which pushes the dispatcher writes to each connection at once: consecutive broadcasts, within bounds.</summary>
public sealed class EveryoneRunTests
{
    private static readonly PushTargets Everyone = new(true, [], [], []);
    private static readonly PushTargets OneUser = new(false, ["ann"], [], []);

    private static PushWork Push(long id, PushTargets targets, string? body = null) => new(id, OutboxKind.Send,
        new NotificationDto(id, "system.notice", "Title", body, null, "normal", "admin-1", DateTime.UnixEpoch, null, null, null, null), targets);

    [Fact]
    public void A_run_is_the_broadcasts_up_to_the_next_targeted_push()
    {
        List<PushWork> works = [Push(1, Everyone), Push(2, Everyone), Push(3, OneUser), Push(4, Everyone)];

        Assert.Equal(2, EveryoneRun.Length(works, 0));
        Assert.Equal(0, EveryoneRun.Length(works, 2));
        Assert.Equal(1, EveryoneRun.Length(works, 3));
    }

    [Fact]
    public void A_run_holds_at_most_32_pushes()
    {
        var works = Enumerable.Range(1, 40).Select(id => Push(id, Everyone)).ToList();

        Assert.Equal(EveryoneRun.MaxPushes, EveryoneRun.Length(works, 0));
        Assert.Equal(40 - EveryoneRun.MaxPushes, EveryoneRun.Length(works, EveryoneRun.MaxPushes));
    }

    [Fact]
    public void Large_broadcasts_share_a_write_only_within_16_KB_and_one_larger_still_goes_alone()
    {
        var body = new string('x', NotificationLimits.MaxBodyLength);
        var works = Enumerable.Range(1, 10).Select(id => Push(id, Everyone, body)).ToList();
        var huge = Push(11, Everyone) with
        {
            Notification = Push(11, Everyone).Notification with { Data = JsonElement.Parse($$"""{"blob":"{{new string('y', NotificationLimits.MaxDataBytes - 20)}}"}""") },
        };

        var run = EveryoneRun.Length(works, 0);
        Assert.Equal(EveryoneRun.MaxBytes / EveryoneRun.EstimatedBytes(works[0].Notification), run);
        Assert.True(EveryoneRun.EstimatedBytes(works[0].Notification) * run <= EveryoneRun.MaxBytes);
        Assert.Equal(1, EveryoneRun.Length([huge, .. works], 0));
    }
}
