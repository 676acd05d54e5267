using System.Buffers.Text;
using System.Text.Json;

namespace Notifications.LoadTest.Client;

internal enum HubMessageKind
{
    Other,
    Notification,
    Completion,
    Ping,
    Close,
}

/// <summary>Result of a client → server invocation (only the parts the load tool looks at).</summary>
public struct InvocationResult
{
    public bool Ok;
    public string? Error;
    public int Items;
    public long MaxItemId;
    public bool HasMore;
    public long Cursor;
    public long Number;
}

internal struct HubMessage
{
    public HubMessageKind Kind;
    public long NotificationId;
    public long SentAt;
    public int InvocationId;
    public string? Error;
    public InvocationResult Result;
}

/// <summary>
/// Just enough of the SignalR JSON hub protocol: records end with 0x1E; we read type, target, invocationId,
/// the notification's id and data.sentAt, and a Sync result's items/hasMore/cursor. Utf8JsonReader, no DOM.
/// </summary>
internal static class HubProtocol
{
    public const byte RecordSeparator = 0x1e;

    public static ReadOnlySpan<byte> HandshakeRequest => "{\"protocol\":\"json\",\"version\":1}\u001e"u8;

    public static ReadOnlySpan<byte> Ping => "{\"type\":6}\u001e"u8;

    /// <summary>Handshake response is `{}` or `{"error":"…"}`; returns the error or null.</summary>
    public static string? HandshakeError(ReadOnlySpan<byte> record)
    {
        var r = new Utf8JsonReader(record);
        try
        {
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
            {
                return "malformed handshake response";
            }

            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("error"u8))
                {
                    r.Read();
                    return r.GetString() ?? "handshake error";
                }

                r.Skip();
            }
        }
        catch (JsonException)
        {
            return "malformed handshake response";
        }

        return null;
    }

    public static HubMessage Parse(ReadOnlySpan<byte> record)
    {
        var m = default(HubMessage);
        var r = new Utf8JsonReader(record);
        var type = 0;
        var targetIsNotification = false;
        var targetSeen = false;
        var argumentsSkipped = false;
        try
        {
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
            {
                return m;
            }

            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("type"u8))
                {
                    r.Read();
                    type = r.GetInt32();
                }
                else if (r.ValueTextEquals("target"u8))
                {
                    r.Read();
                    targetSeen = true;
                    targetIsNotification = r.ValueTextEquals("ReceiveNotification"u8);
                }
                else if (r.ValueTextEquals("invocationId"u8))
                {
                    r.Read();
                    if (r.TokenType == JsonTokenType.String && Utf8Parser.TryParse(r.ValueSpan, out int id, out _))
                    {
                        m.InvocationId = id;
                    }
                }
                else if (r.ValueTextEquals("arguments"u8))
                {
                    if (targetSeen && targetIsNotification)
                    {
                        r.Read();
                        ReadNotificationArguments(ref r, ref m);
                    }
                    else
                    {
                        argumentsSkipped = !targetSeen;
                        r.Skip();
                    }
                }
                else if (r.ValueTextEquals("result"u8))
                {
                    r.Read();
                    ReadResult(ref r, ref m.Result);
                }
                else if (r.ValueTextEquals("error"u8))
                {
                    r.Read();
                    m.Error = r.TokenType == JsonTokenType.String ? r.GetString() : null;
                }
                else
                {
                    r.Skip();
                }
            }

            switch (type)
            {
                case 1 when targetIsNotification:
                    m.Kind = HubMessageKind.Notification;
                    if (argumentsSkipped)
                    {
                        SecondPassArguments(record, ref m);
                    }

                    break;
                case 3:
                    m.Kind = HubMessageKind.Completion;
                    m.Result.Ok = m.Error is null;
                    m.Result.Error = m.Error;
                    break;
                case 6:
                    m.Kind = HubMessageKind.Ping;
                    break;
                case 7:
                    m.Kind = HubMessageKind.Close;
                    break;
                default:
                    m.Kind = HubMessageKind.Other;
                    break;
            }
        }
        catch (JsonException)
        {
            m.Kind = HubMessageKind.Other;
        }
        catch (InvalidOperationException)
        {
            m.Kind = HubMessageKind.Other;
        }

        return m;
    }

    private static void SecondPassArguments(ReadOnlySpan<byte> record, ref HubMessage m)
    {
        var r = new Utf8JsonReader(record);
        r.Read();
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("arguments"u8))
            {
                r.Read();
                ReadNotificationArguments(ref r, ref m);
                return;
            }

            r.Skip();
        }
    }

    /// <summary>Reader on the arguments' StartArray; leaves it on the matching EndArray.</summary>
    private static void ReadNotificationArguments(ref Utf8JsonReader r, ref HubMessage m)
    {
        if (r.TokenType != JsonTokenType.StartArray)
        {
            r.Skip();
            return;
        }

        var first = true;
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            if (first && r.TokenType == JsonTokenType.StartObject)
            {
                ReadNotification(ref r, ref m);
            }
            else
            {
                r.Skip();
            }

            first = false;
        }
    }

    /// <summary>Reader on the notification's StartObject; leaves it on its EndObject.</summary>
    private static void ReadNotification(ref Utf8JsonReader r, ref HubMessage m)
    {
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("id"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.Number)
                {
                    m.NotificationId = r.GetInt64();
                }
            }
            else if (r.ValueTextEquals("data"u8))
            {
                r.Read();
                if (r.TokenType != JsonTokenType.StartObject)
                {
                    r.Skip();
                    continue;
                }

                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    if (r.ValueTextEquals("sentAt"u8))
                    {
                        r.Read();
                        if (r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var t))
                        {
                            m.SentAt = t;
                        }
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

    /// <summary>Reader on the result value; a Sync page {items, hasMore, cursor} or a number.</summary>
    private static void ReadResult(ref Utf8JsonReader r, ref InvocationResult res)
    {
        switch (r.TokenType)
        {
            case JsonTokenType.Number:
                res.Number = r.TryGetInt64(out var n) ? n : 0;
                return;
            case JsonTokenType.StartObject:
                break;
            default:
                r.Skip();
                return;
        }

        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("items"u8))
            {
                r.Read();
                if (r.TokenType != JsonTokenType.StartArray)
                {
                    r.Skip();
                    continue;
                }

                while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                {
                    if (r.TokenType != JsonTokenType.StartObject)
                    {
                        r.Skip();
                        continue;
                    }

                    res.Items++;
                    while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                    {
                        if (r.ValueTextEquals("id"u8))
                        {
                            r.Read();
                            if (r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var id) && id > res.MaxItemId)
                            {
                                res.MaxItemId = id;
                            }
                        }
                        else
                        {
                            r.Skip();
                        }
                    }
                }
            }
            else if (r.ValueTextEquals("hasMore"u8))
            {
                r.Read();
                res.HasMore = r.TokenType == JsonTokenType.True;
            }
            else if (r.ValueTextEquals("cursor"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.Number)
                {
                    res.Cursor = r.GetInt64();
                }
            }
            else
            {
                r.Skip();
            }
        }
    }
}
