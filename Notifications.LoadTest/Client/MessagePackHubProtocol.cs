using System.Buffers;
using System.Buffers.Text;
using System.Text;
using MessagePack;

namespace Notifications.LoadTest.Client;

/// <summary>
/// Just enough of SignalR's MessagePack hub protocol: after the JSON handshake, every message is a MessagePack array
/// behind a VarInt length prefix. It reads what <see cref="HubProtocol"/> reads of JSON (type, target, invocation id,
/// the notification's id and data.sentAt, a Sync page's items/hasMore/cursor, a number result), with keys matched
/// case-insensitively (a server's formatter may write camelCase or PascalCase), and skips everything else. Trailing
/// array elements beyond those read are ignored, and missing ones are tolerated, as older servers send fewer.
/// </summary>
internal static class MessagePackHubProtocol
{
    private const int InvocationType = 1;
    private const int CompletionType = 3;
    private const int PingType = 6;
    private const int CloseType = 7;
    private const int ErrorResult = 1;
    private const int NonVoidResult = 3;

    public static ReadOnlySpan<byte> HandshakeRequest => "{\"protocol\":\"messagepack\",\"version\":1}\u001e"u8;

    /// <summary>[6] behind its length prefix: the array is two bytes (0x91 0x06), so the prefix is 2, not 1.</summary>
    public static ReadOnlySpan<byte> Ping => [0x02, 0x91, 0x06];

    /// <summary>
    /// Reads a VarInt length prefix (7 bits a byte, least significant first, at most 5 bytes). False when the prefix is not
    /// complete yet; a prefix that is not a valid length fails the connection (nothing after it can be found).
    /// </summary>
    public static bool TryReadLengthPrefix(ReadOnlySpan<byte> data, out int length, out int prefixLength)
    {
        var value = 0;
        for (var i = 0; i < 5 && i < data.Length; i++)
        {
            var b = data[i];
            if (i == 4 && b > 0x07)
            {
                throw new HubConnectException("MessagePack length prefix above 2 GB");
            }

            value |= (b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0)
            {
                length = value;
                prefixLength = i + 1;
                return true;
            }
        }

        length = 0;
        prefixLength = 0;
        return false;
    }

    /// <summary>An invocation with two integer arguments, e.g. Sync(afterId, limit), length-prefixed.</summary>
    public static byte[] Invocation(string target, string? invocationId, long arg1, long arg2)
    {
        var body = new ArrayBufferWriter<byte>(64);
        var w = new MessagePackWriter(body);
        WriteInvocationStart(ref w, target, invocationId, argumentCount: 2);
        w.Write(arg1);
        w.Write(arg2);
        w.WriteArrayHeader(0);
        w.Flush();
        return LengthPrefixed(body.WrittenSpan);
    }

    /// <summary>An invocation with one argument, an array of integers, e.g. Ack(ids), length-prefixed.</summary>
    public static byte[] Invocation(string target, string? invocationId, IReadOnlyList<long> values)
    {
        var body = new ArrayBufferWriter<byte>(64 + (9 * values.Count));
        var w = new MessagePackWriter(body);
        WriteInvocationStart(ref w, target, invocationId, argumentCount: 1);
        w.WriteArrayHeader(values.Count);
        foreach (var v in values)
        {
            w.Write(v);
        }

        w.WriteArrayHeader(0);
        w.Flush();
        return LengthPrefixed(body.WrittenSpan);
    }

    /// <summary>Parses one message (without its length prefix). Anything malformed is <see cref="HubMessageKind.Other"/>.</summary>
    public static HubMessage Parse(ReadOnlySpan<byte> message)
    {
        var m = default(HubMessage);
        var r = new MessagePackSpanReader(message);
        try
        {
            if (!r.TryReadArrayHeader(out var count) || count < 1 || !r.TryReadInt64(out var type))
            {
                return m;
            }

            switch (type)
            {
                case InvocationType when count >= 5:
                    // [1, headers, invocationId, target, arguments, streamIds]
                    r.Skip();
                    r.Skip();
                    if (r.TryReadString(out var target) && target.SequenceEqual("ReceiveNotification"u8))
                    {
                        m.Kind = HubMessageKind.Notification;
                        ReadNotificationArguments(ref r, ref m);
                    }

                    break;
                case CompletionType when count >= 4:
                    // [3, headers, invocationId, resultKind, result]; the result is there for kinds 1 (error) and 3
                    r.Skip();
                    if (!r.TryReadString(out var id))
                    {
                        r.Skip();
                    }
                    else if (Utf8Parser.TryParse(id, out int invocationId, out _))
                    {
                        m.InvocationId = invocationId;
                    }

                    ReadCompletion(ref r, count, ref m);
                    break;
                case PingType:
                    m.Kind = HubMessageKind.Ping;
                    break;
                case CloseType:
                    // [7, error, allowReconnect]
                    m.Kind = HubMessageKind.Close;
                    if (count >= 2 && r.TryReadString(out var error))
                    {
                        m.Error = Encoding.UTF8.GetString(error);
                    }

                    break;
                default:
                    break;
            }
        }
        catch (FormatException)
        {
            m = default;
        }

        return m;
    }

    private static void ReadCompletion(ref MessagePackSpanReader r, int count, ref HubMessage m)
    {
        if (!r.TryReadInt64(out var kind))
        {
            return;
        }

        m.Kind = HubMessageKind.Completion;
        if (kind == ErrorResult)
        {
            m.Error = count >= 5 && r.TryReadString(out var error) ? Encoding.UTF8.GetString(error) : "error";
        }
        else if (kind == NonVoidResult && count >= 5)
        {
            ReadResult(ref r, ref m.Result);
        }

        m.Result.Ok = m.Error is null;
        m.Result.Error = m.Error;
    }

    /// <summary>The arguments array: the first one, when a map, is the notification.</summary>
    private static void ReadNotificationArguments(ref MessagePackSpanReader r, ref HubMessage m)
    {
        if (r.TryReadArrayHeader(out var count) && count > 0 && r.TryReadMapHeader(out var fields))
        {
            ReadNotification(ref r, fields, ref m);
        }
    }

    /// <summary>A notification map: its id and data.sentAt; stops once both are read, as nothing after them is needed.</summary>
    private static void ReadNotification(ref MessagePackSpanReader r, int fields, ref HubMessage m)
    {
        var found = 0;
        for (var i = 0; i < fields && found < 2; i++)
        {
            var key = ReadKey(ref r);
            if (Ascii.EqualsIgnoreCase(key, "id"u8) && r.TryReadInt64(out var id))
            {
                m.NotificationId = id;
                found++;
            }
            else if (Ascii.EqualsIgnoreCase(key, "data"u8) && r.TryReadMapHeader(out var dataFields))
            {
                found++;
                for (var j = 0; j < dataFields; j++)
                {
                    if (Ascii.EqualsIgnoreCase(ReadKey(ref r), "sentAt"u8) && r.TryReadInt64(out var sentAt))
                    {
                        m.SentAt = sentAt;
                    }
                    else
                    {
                        r.Skip();
                    }
                }
            }
            else
            {
                r.Skip();
            }
        }
    }

    /// <summary>A Sync page {items, hasMore, cursor} or a number (e.g. GetUnreadCount).</summary>
    private static void ReadResult(ref MessagePackSpanReader r, ref InvocationResult res)
    {
        if (r.TryReadInt64(out var number))
        {
            res.Number = number;
            return;
        }

        if (!r.TryReadMapHeader(out var fields))
        {
            return;
        }

        for (var i = 0; i < fields; i++)
        {
            var key = ReadKey(ref r);
            if (Ascii.EqualsIgnoreCase(key, "items"u8) && r.TryReadArrayHeader(out var items))
            {
                for (var j = 0; j < items; j++)
                {
                    if (r.TryReadMapHeader(out var itemFields))
                    {
                        res.Items++;
                        ReadItemId(ref r, itemFields, ref res);
                    }
                    else
                    {
                        r.Skip();
                    }
                }
            }
            else if (Ascii.EqualsIgnoreCase(key, "hasMore"u8) && r.TryReadBool(out var hasMore))
            {
                res.HasMore = hasMore;
            }
            else if (Ascii.EqualsIgnoreCase(key, "cursor"u8) && r.TryReadInt64(out var cursor))
            {
                res.Cursor = cursor;
            }
            else
            {
                r.Skip();
            }
        }
    }

    private static void ReadItemId(ref MessagePackSpanReader r, int fields, ref InvocationResult res)
    {
        for (var i = 0; i < fields; i++)
        {
            if (Ascii.EqualsIgnoreCase(ReadKey(ref r), "id"u8) && r.TryReadInt64(out var id))
            {
                res.MaxItemId = Math.Max(res.MaxItemId, id);
            }
            else
            {
                r.Skip();
            }
        }
    }

    /// <summary>
    /// A map key as UTF-8. A key of another kind is skipped and reads as empty, which matches no name, so the caller's
    /// fallback skips its value.
    /// </summary>
    private static ReadOnlySpan<byte> ReadKey(ref MessagePackSpanReader r)
    {
        if (r.TryReadString(out var key))
        {
            return key;
        }

        r.Skip();
        return default;
    }

    private static void WriteInvocationStart(ref MessagePackWriter w, string target, string? invocationId, int argumentCount)
    {
        // [1, headers, invocationId, target, arguments, streamIds]: the caller writes the arguments and the stream ids.
        w.WriteArrayHeader(6);
        w.Write(InvocationType);
        w.WriteMapHeader(0);
        if (invocationId is null)
        {
            w.WriteNil();
        }
        else
        {
            w.Write(invocationId);
        }

        w.Write(target);
        w.WriteArrayHeader(argumentCount);
    }

    private static byte[] LengthPrefixed(ReadOnlySpan<byte> body)
    {
        Span<byte> prefix = stackalloc byte[5];
        var n = 0;
        var v = (uint)body.Length;
        do
        {
            var b = (byte)(v & 0x7f);
            v >>= 7;
            prefix[n++] = v == 0 ? b : (byte)(b | 0x80);
        }
        while (v != 0);

        var message = new byte[n + body.Length];
        prefix[..n].CopyTo(message);
        body.CopyTo(message.AsSpan(n));
        return message;
    }
}
