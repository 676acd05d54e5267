using System.Text;
using Microsoft.AspNetCore.SignalR;
using Notifications.Infrastructure.Cluster;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// What an instance publishes on the service's own channels: on the broadcast and audience channels a push serialized in
/// each protocol the hub accepts, on the missed channel the window of pushes it could not publish.
/// </summary>
public sealed class BroadcastEnvelopeTests
{
    [Fact]
    public void A_push_in_two_protocols_comes_back_as_it_was_published()
    {
        SerializedMessage[] push =
        [
            new("json", Encoding.UTF8.GetBytes("{\"type\":1,\"target\":\"ReceiveNotification\",\"arguments\":[{\"id\":7}]}\u001e")),
            new("messagepack", new byte[] { 0x05, 0x95, 0x01, 0x80, 0xc0, 0xa1, 0x52 }),
        ];

        var decoded = RedisBroadcastChannel.Decode(RedisBroadcastChannel.Encode(push));

        Assert.Equal(push.Select(p => p.ProtocolName), decoded.Select(p => p.ProtocolName));
        Assert.Equal(push.Select(p => p.Serialized.ToArray()), decoded.Select(p => p.Serialized.ToArray()));
    }

    [Fact]
    public void A_truncated_or_foreign_payload_is_refused_not_misread()
    {
        SerializedMessage[] push = [new("json", Encoding.UTF8.GetBytes("{\"type\":6}\u001e"))];
        var encoded = RedisBroadcastChannel.Encode(push);

        Assert.ThrowsAny<ArgumentException>(() => RedisBroadcastChannel.Decode(encoded[..^3]));
        Assert.ThrowsAny<ArgumentException>(() => RedisBroadcastChannel.Decode([.. encoded, 0x2a]));
        Assert.ThrowsAny<ArgumentException>(() => RedisBroadcastChannel.Decode(Encoding.UTF8.GetBytes("{\"hello\":\"redis\"}")));
    }

    [Fact]
    public void An_audience_push_comes_back_with_its_users_groups_and_protocols()
    {
        SerializedMessage[] serialized =
        [
            new("json", Encoding.UTF8.GetBytes("{\"type\":1,\"target\":\"NotificationRetracted\",\"arguments\":[7]}\u001e")),
            new("messagepack", new byte[] { 0x05, 0x95, 0x01, 0x80, 0xc0, 0xa1, 0x52 }),
        ];
        var push = new AudiencePush(["alice", "b\u00f6b", ""], ["role:ops", "group:team-1"], serialized);

        var decoded = RedisAudienceChannel.Decode(RedisAudienceChannel.Encode(push));

        Assert.Equal(push.Users, decoded.Users);
        Assert.Equal(push.Groups, decoded.Groups);
        Assert.Equal(serialized.Select(p => p.ProtocolName), decoded.Push.Select(p => p.ProtocolName));
        Assert.Equal(serialized.Select(p => p.Serialized.ToArray()), decoded.Push.Select(p => p.Serialized.ToArray()));
        Assert.Empty(RedisAudienceChannel.Decode(RedisAudienceChannel.Encode(push with { Users = [] })).Users);
    }

    [Fact]
    public void An_audience_push_with_a_join_time_comes_back_with_it_and_reads_to_earlier_versions_as_one_more_protocol()
    {
        SerializedMessage[] serialized = [new("json", Encoding.UTF8.GetBytes("{\"type\":6}\u001e"))];
        var joinedBy = new DateTime(2026, 11, 28, 9, 30, 0, DateTimeKind.Utc).AddTicks(10).Ticks;
        var withTime = new AudiencePush(["alice"], ["group:team"], serialized, joinedBy);

        var encoded = RedisAudienceChannel.Encode(withTime);
        var decoded = RedisAudienceChannel.Decode(encoded);

        Assert.Equal(joinedBy, decoded.GroupsJoinedBy);
        Assert.Equal(withTime.Users, decoded.Users);
        Assert.Equal(withTime.Groups, decoded.Groups);
        Assert.Equal("json", Assert.Single(decoded.Push).ProtocolName);
        Assert.Equal(serialized[0].Serialized.ToArray(), decoded.Push[0].Serialized.ToArray());
        Assert.Equal(0, RedisAudienceChannel.Decode(RedisAudienceChannel.Encode(withTime with { GroupsJoinedBy = 0 })).GroupsJoinedBy);

        // The bytes are the older form with the time as a last protocol, which no connection speaks: an instance of an
        // earlier version writes the push as it did, without the check, instead of dropping it.
        var asOlderForm = RedisAudienceChannel.Encode(withTime with { GroupsJoinedBy = 0, Push = [.. serialized, new(RedisAudienceChannel.JoinedByEntry, BitConverter.GetBytes(joinedBy))] });
        Assert.Equal(asOlderForm, encoded);
    }

    [Fact]
    public void A_truncated_or_foreign_audience_push_is_refused_not_misread()
    {
        var encoded = RedisAudienceChannel.Encode(new AudiencePush(["alice"], ["group:team"], [new("json", Encoding.UTF8.GetBytes("{\"type\":6}\u001e"))]));

        Assert.ThrowsAny<ArgumentException>(() => RedisAudienceChannel.Decode(encoded[..^3]));
        Assert.ThrowsAny<ArgumentException>(() => RedisAudienceChannel.Decode(encoded[..12]));
        Assert.ThrowsAny<ArgumentException>(() => RedisAudienceChannel.Decode([.. encoded, 0x2a]));
        Assert.ThrowsAny<ArgumentException>(() => RedisAudienceChannel.Decode(Encoding.UTF8.GetBytes("{\"hello\":\"redis\"}")));

        foreach (var badTime in new[] { BitConverter.GetBytes(0L), BitConverter.GetBytes(-5L), BitConverter.GetBytes(42), BitConverter.GetBytes(long.MaxValue) })
        {
            var push = new AudiencePush(["alice"], ["group:team"], [new("json", Encoding.UTF8.GetBytes("{\"type\":6}\u001e")), new(RedisAudienceChannel.JoinedByEntry, badTime)]);
            Assert.ThrowsAny<ArgumentException>(() => RedisAudienceChannel.Decode(RedisAudienceChannel.Encode(push)));
        }
    }

    [Fact]
    public void A_notice_of_missed_pushes_comes_back_with_its_window_and_a_foreign_one_is_refused()
    {
        var window = new MissedWindow(new DateTime(2026, 11, 25, 21, 0, 0, DateTimeKind.Utc).AddTicks(7), new DateTime(2026, 11, 25, 21, 0, 42, DateTimeKind.Utc));
        var encoded = RedisMissedPushesChannel.Encode(window);

        var decoded = RedisMissedPushesChannel.Decode(encoded);

        Assert.Equal(window, decoded);
        Assert.Equal(DateTimeKind.Utc, decoded.From.Kind);
        Assert.ThrowsAny<ArgumentException>(() => RedisMissedPushesChannel.Decode(encoded[..^1]));
        Assert.ThrowsAny<ArgumentException>(() => RedisMissedPushesChannel.Decode([.. encoded, 0x2a]));
        Assert.ThrowsAny<ArgumentException>(() => RedisMissedPushesChannel.Decode(RedisMissedPushesChannel.Encode(new MissedWindow(window.To, window.From))));
        Assert.ThrowsAny<ArgumentException>(() => RedisMissedPushesChannel.Decode([.. Enumerable.Repeat((byte)0xff, 16)]));
    }
}
