extern alias LoadTool;

using System.Buffers;
using System.Text;
using LoadTool::Notifications.LoadTest.Client;
using MessagePack;

namespace Notifications.Tests.LoadTool;

/// <summary>
/// The load tool's MessagePack hub protocol reader, fed bytes written by the MessagePack package's own writer: what it
/// must find in a stream of WebSocket messages (several messages in one, one split across several, its VarInt length
/// prefix too) and in each message (a notification's id and data.sentAt, a Sync page, keys in either case).
/// </summary>
public sealed class MessagePackFrameReaderTests
{
    private static readonly byte[] HandshakeResponse = "{}\u001e"u8.ToArray();

    [Fact]
    public void Two_length_prefixed_messages_in_one_websocket_message_are_both_read()
    {
        var sink = new Sink();
        var reader = new MessagePackFrameReader(1 << 20);

        reader.Read([.. HandshakeResponse, .. Prefixed(Notification(41, 1_111_111)), .. Prefixed(Notification(42, 2_222_222))], sink);

        Assert.Equal(["{}"], sink.Handshakes);
        Assert.Equal([(41L, 1_111_111L), (42L, 2_222_222L)], sink.Notifications);
    }

    [Fact]
    public void A_message_split_across_websocket_messages_is_joined_even_inside_its_length_prefix()
    {
        var sink = new Sink();
        var reader = new MessagePackFrameReader(1 << 20);
        var big = Prefixed(Notification(7, 123_456_789_012, body: new string('x', 300)));
        Assert.True(big[0] >= 0x80 && big[1] < 0x80, "the message needs a two-byte length prefix to split it");

        // The handshake response and one byte of the prefix; then the prefix's second byte and part of the message; then
        // its rest with a whole second message.
        reader.Read([.. HandshakeResponse, big[0]], sink);
        Assert.Empty(sink.Notifications);
        reader.Read(big.AsSpan(1, 100), sink);
        Assert.Empty(sink.Notifications);
        reader.Read([.. big.AsSpan(101), .. Prefixed(Notification(8, 5))], sink);

        Assert.Equal([(7L, 123_456_789_012L), (8L, 5L)], sink.Notifications);
    }

    [Fact]
    public void A_handshake_response_split_across_websocket_messages_is_joined()
    {
        var sink = new Sink();
        var reader = new MessagePackFrameReader(1 << 20);

        reader.Read("{\"error\":\"no"u8, sink);
        Assert.Empty(sink.Handshakes);
        reader.Read([.. "pe\"}\u001e"u8, .. Prefixed(Notification(3, 4))], sink);

        Assert.Equal(["{\"error\":\"nope\"}"], sink.Handshakes);
        Assert.Equal([(3L, 4L)], sink.Notifications);
    }

    [Fact]
    public void PascalCase_keys_and_extra_trailing_elements_are_read_and_unknown_targets_ignored()
    {
        var other = Message((ref w) =>
        {
            w.WriteArrayHeader(6);
            w.Write(1);
            w.WriteMapHeader(0);
            w.WriteNil();
            w.Write("SomethingElse");
            w.WriteArrayHeader(1);
            w.Write(99);
            w.WriteArrayHeader(0);
        });

        var m = MessagePackHubProtocol.Parse(Notification(12, 34, pascalCase: true, trailing: true));
        var ignored = MessagePackHubProtocol.Parse(other);

        Assert.Equal((12L, 34L), (m.NotificationId, m.SentAt));
        Assert.Equal(HubMessageKind.Other, ignored.Kind);
    }

    [Fact]
    public void Values_of_every_kind_before_the_fields_read_are_skipped()
    {
        Writes[] kinds =
        [
            (ref w) => w.Write(new string('y', 70_000)),
            (ref w) => w.Write(new string('z', 300)),
            (ref w) => w.Write(new byte[300]),
            (ref w) => w.Write(-1),
            (ref w) => w.Write(-100),
            (ref w) => w.Write(-40_000),
            (ref w) => w.Write(-5_000_000_000L),
            (ref w) => w.Write(1.5f),
            (ref w) => w.Write(2.5),
            (ref w) => w.Write(ulong.MaxValue),
            (ref w) => w.Write(false),
            (ref w) => w.WriteNil(),
            (ref w) => w.WriteExtensionFormat(new ExtensionResult(5, new byte[16])),
            (ref w) => w.WriteExtensionFormat(new ExtensionResult(5, new byte[3])),
            (ref w) => w.WriteExtensionFormat(new ExtensionResult(5, new byte[300])),
            (ref w) => w.Write(new DateTime(2600, 1, 1, 0, 0, 0, 1, DateTimeKind.Utc)),
            (ref w) =>
            {
                w.WriteArrayHeader(20);
                for (var i = 0; i < 20; i++)
                {
                    w.WriteArrayHeader(1);
                    w.WriteNil();
                }
            },
            (ref w) =>
            {
                w.WriteMapHeader(16);
                for (var i = 0; i < 16; i++)
                {
                    w.Write(i);
                    w.WriteMapHeader(1);
                    w.Write("k");
                    w.Write(i * 1000);
                }
            },
        ];
        var message = Message((ref w) =>
        {
            w.WriteArrayHeader(6);
            w.Write(1);
            w.WriteMapHeader(0);
            w.WriteNil();
            w.Write("ReceiveNotification");
            w.WriteArrayHeader(1);

            // Every kind under a key of its own, a value under an integer key, then data (the same inside) and id.
            w.WriteMapHeader(kinds.Length + 3);
            for (var i = 0; i < kinds.Length; i++)
            {
                w.Write("skip" + i);
                kinds[i](ref w);
            }

            w.Write(7);
            w.Write("a value under an integer key");
            w.Write("DATA");
            w.WriteMapHeader(kinds.Length + 2);
            for (var i = 0; i < kinds.Length; i++)
            {
                w.Write("d" + i);
                kinds[i](ref w);
            }

            w.Write(3);
            w.Write("integer key");
            w.Write("SENTAT");
            w.Write(987_654_321_000L);
            w.Write("ID");
            w.Write(4_000_000_000L);
            w.WriteArrayHeader(0);
        });

        var m = MessagePackHubProtocol.Parse(message);

        Assert.Equal((HubMessageKind.Notification, 4_000_000_000L, 987_654_321_000L), (m.Kind, m.NotificationId, m.SentAt));
    }

    [Fact]
    public void A_sync_completion_gives_the_item_count_the_highest_id_has_more_and_the_cursor()
    {
        var completion = Message((ref w) =>
        {
            w.WriteArrayHeader(5);
            w.Write(3);
            w.WriteMapHeader(0);
            w.Write("17");
            w.Write(3);
            w.WriteMapHeader(3);
            w.Write("Items");
            w.WriteArrayHeader(3);
            WriteNotification(ref w, 100, 1, body: null, pascalCase: false);
            WriteNotification(ref w, 102, 2, body: "b", pascalCase: true);
            WriteNotification(ref w, 101, 3, body: null, pascalCase: false);
            w.Write("hasMore");
            w.Write(true);
            w.Write("CURSOR");
            w.Write(102L);
        });

        var m = MessagePackHubProtocol.Parse(completion);

        Assert.Equal((HubMessageKind.Completion, 17, true), (m.Kind, m.InvocationId, m.Result.Ok));
        Assert.Equal((3, 102L, true, 102L), (m.Result.Items, m.Result.MaxItemId, m.Result.HasMore, m.Result.Cursor));
    }

    [Fact]
    public void Number_void_and_error_completions_and_a_close()
    {
        var number = MessagePackHubProtocol.Parse(Message((ref w) =>
        {
            w.WriteArrayHeader(5);
            w.Write(3);
            w.WriteMapHeader(0);
            w.Write("4");
            w.Write(3);
            w.Write(250_000);
        }));
        var empty = MessagePackHubProtocol.Parse(Message((ref w) =>
        {
            w.WriteArrayHeader(4);
            w.Write(3);
            w.WriteMapHeader(0);
            w.Write("5");
            w.Write(2);
        }));
        var error = MessagePackHubProtocol.Parse(Message((ref w) =>
        {
            w.WriteArrayHeader(5);
            w.Write(3);
            w.WriteMapHeader(0);
            w.Write("6");
            w.Write(1);
            w.Write("boom");
        }));
        var close = MessagePackHubProtocol.Parse(Message((ref w) =>
        {
            w.WriteArrayHeader(3);
            w.Write(7);
            w.Write("going away");
            w.Write(false);
        }));

        Assert.Equal((4, true, 250_000L), (number.InvocationId, number.Result.Ok, number.Result.Number));
        Assert.Equal((5, true), (empty.InvocationId, empty.Result.Ok));
        Assert.Equal((6, false, "boom"), (error.InvocationId, error.Result.Ok, error.Result.Error));
        Assert.Equal((HubMessageKind.Close, "going away"), (close.Kind, close.Error));
    }

    [Fact]
    public void The_tool_writes_invocations_and_pings_the_package_reads()
    {
        var sync = MessagePackHubProtocol.Invocation("Sync", "9", 1_000_000_000_000, 100);
        var ack = MessagePackHubProtocol.Invocation("Ack", null, [1, 300, 70_000]);

        var r = Unprefixed(sync);
        Assert.Equal(6, r.ReadArrayHeader());
        Assert.Equal(1, r.ReadInt32());
        Assert.Equal(0, r.ReadMapHeader());
        Assert.Equal("9", r.ReadString());
        Assert.Equal("Sync", r.ReadString());
        Assert.Equal(2, r.ReadArrayHeader());
        Assert.Equal((1_000_000_000_000L, 100), (r.ReadInt64(), r.ReadInt32()));
        Assert.Equal(0, r.ReadArrayHeader());
        Assert.True(r.End);

        r = Unprefixed(ack);
        Assert.Equal((6, 1, 0), (r.ReadArrayHeader(), r.ReadInt32(), r.ReadMapHeader()));
        Assert.True(r.TryReadNil());
        Assert.Equal("Ack", r.ReadString());
        Assert.Equal((1, 3), (r.ReadArrayHeader(), r.ReadArrayHeader()));
        Assert.Equal((1L, 300L, 70_000L), (r.ReadInt64(), r.ReadInt64(), r.ReadInt64()));

        // The ping as the package reads it: a length prefix that covers the whole [6] (a prefix of 1 would cut it).
        r = Unprefixed(MessagePackHubProtocol.Ping.ToArray());
        Assert.Equal((1, 6), (r.ReadArrayHeader(), r.ReadInt32()));
        Assert.True(r.End);
    }

    private static MessagePackReader Unprefixed(byte[] message)
    {
        Assert.True(MessagePackHubProtocol.TryReadLengthPrefix(message, out var length, out var prefix));
        Assert.Equal(message.Length, prefix + length);
        return new MessagePackReader(message.AsMemory(prefix));
    }

    /// <summary>ReceiveNotification(n) as a server writes it: a map with timestamps, nils and a data map with seq first.</summary>
    private static byte[] Notification(long id, long sentAt, string? body = null, bool pascalCase = false, bool trailing = false) =>
        Message((ref w) =>
        {
            w.WriteArrayHeader(trailing ? 7 : 6);
            w.Write(1);
            w.WriteMapHeader(1);
            w.Write("h");
            w.Write("v");
            w.WriteNil();
            w.Write("ReceiveNotification");
            w.WriteArrayHeader(1);
            WriteNotification(ref w, id, sentAt, body, pascalCase);
            w.WriteArrayHeader(0);
            if (trailing)
            {
                w.Write("a later protocol's element");
            }
        });

    private static void WriteNotification(ref MessagePackWriter w, long id, long sentAt, string? body, bool pascalCase)
    {
        string Key(string camel) => pascalCase ? char.ToUpperInvariant(camel[0]) + camel[1..] : camel;

        w.WriteMapHeader(7);
        w.Write(Key("type"));
        w.Write("load");
        w.Write(Key("createdAt"));
        w.Write(new DateTime(2026, 11, 27, 4, 0, 0, DateTimeKind.Utc));
        w.Write(Key("readAt"));
        w.WriteNil();
        w.Write(Key("body"));
        w.Write(body);
        w.Write(Key("data"));
        w.WriteMapHeader(3);
        w.Write(Key("seq"));
        w.Write(5);
        w.Write(Key("tags"));
        w.WriteArrayHeader(2);
        w.Write(1.5);
        w.Write(new byte[] { 1, 2, 3 });
        w.Write(Key("sentAt"));
        w.Write(sentAt);
        w.Write(Key("priority"));
        w.Write("normal");
        w.Write(Key("id"));
        w.Write(id);
    }

    private delegate void Writes(ref MessagePackWriter writer);

    private static byte[] Message(Writes write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        write(ref w);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The VarInt length prefix, written here by hand rather than by the code under test.</summary>
    private static byte[] Prefixed(byte[] message)
    {
        var prefix = new List<byte>();
        var length = (uint)message.Length;
        do
        {
            var b = (byte)(length & 0x7f);
            length >>= 7;
            prefix.Add(length == 0 ? b : (byte)(b | 0x80));
        }
        while (length != 0);

        return [.. prefix, .. message];
    }

    private sealed class Sink : IHubMessageSink
    {
        public List<string> Handshakes { get; } = [];

        public List<(long Id, long SentAt)> Notifications { get; } = [];

        public void OnHandshake(ReadOnlySpan<byte> response) => Handshakes.Add(Encoding.UTF8.GetString(response));

        public void OnMessage(in HubMessage message)
        {
            Assert.Equal(HubMessageKind.Notification, message.Kind);
            Notifications.Add((message.NotificationId, message.SentAt));
        }
    }
}
