using System.Buffers;
using System.Globalization;
using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace Notifications.Client;

/// <summary>
/// Reads the service's payloads over SignalR's MessagePack protocol (<see cref="NotificationsClientOptions.UseMessagePack"/>):
/// maps with the contract's camelCase keys, times as timestamps, a notification's <c>data</c> as a native map, which
/// becomes the same <see cref="JsonElement"/> the JSON protocol gives. Unknown keys are skipped, so a newer server
/// may add fields.
/// </summary>
internal static class MessagePackPayloads
{
    public static MessagePackSerializerOptions SerializerOptions { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create(
            [new NotificationFormatter(), new SyncPageFormatter(), new SubscribeResultFormatter(), new AllReadFormatter()],
            [StandardResolver.Instance]))
        .WithSecurity(MessagePackSecurity.UntrustedData);

    private abstract class ReadOnlyFormatter<T> : IMessagePackFormatter<T?>
        where T : class
    {
        public void Serialize(ref MessagePackWriter writer, T? value, MessagePackSerializerOptions options) =>
            throw new NotSupportedException($"{typeof(T).Name} comes from the server; the SDK never sends it.");

        public T? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            if (reader.TryReadNil())
            {
                return null;
            }

            options.Security.DepthStep(ref reader);
            try
            {
                return Read(ref reader, options);
            }
            finally
            {
                reader.Depth--;
            }
        }

        protected abstract T Read(ref MessagePackReader reader, MessagePackSerializerOptions options);
    }

    private sealed class NotificationFormatter : ReadOnlyFormatter<NotificationMessage>
    {
        protected override NotificationMessage Read(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            ReadNotification(ref reader, options);
    }

    private sealed class SyncPageFormatter : ReadOnlyFormatter<SyncPage>
    {
        protected override SyncPage Read(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            var items = new List<NotificationMessage>();
            var (hasMore, cursor) = (false, 0L);
            for (var count = reader.ReadMapHeader(); count > 0; count--)
            {
                switch (reader.ReadString())
                {
                    case "items":
                        for (var n = reader.ReadArrayHeader(); n > 0; n--)
                        {
                            items.Add(ReadNotification(ref reader, options));
                        }

                        break;
                    case "hasMore":
                        hasMore = reader.ReadBoolean();
                        break;
                    case "cursor":
                        cursor = reader.ReadInt64();
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            return new SyncPage(items, hasMore, cursor);
        }
    }

    private sealed class SubscribeResultFormatter : ReadOnlyFormatter<SubscribeResult>
    {
        protected override SubscribeResult Read(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            var (group, joinedAt) = ((string?)null, (DateTimeOffset?)null);
            for (var count = reader.ReadMapHeader(); count > 0; count--)
            {
                switch (reader.ReadString())
                {
                    case "group":
                        group = reader.ReadString();
                        break;
                    case "joinedAt":
                        joinedAt = ReadTime(ref reader);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            return new SubscribeResult(Required(group, "group"), Required(joinedAt, "joinedAt"));
        }
    }

    private sealed class AllReadFormatter : ReadOnlyFormatter<AllReadPayload>
    {
        protected override AllReadPayload Read(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            long? upToId = null;
            for (var count = reader.ReadMapHeader(); count > 0; count--)
            {
                if (reader.ReadString() == "upToId")
                {
                    upToId = reader.ReadInt64();
                }
                else
                {
                    reader.Skip();
                }
            }

            return new AllReadPayload(Required(upToId, "upToId"));
        }
    }

    private static NotificationMessage ReadNotification(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        long? id = null;
        string? type = null, title = null, body = null, priority = null, senderId = null;
        JsonElement? data = null;
        DateTimeOffset? createdAt = null, expiresAt = null, readAt = null, seenAt = null, archivedAt = null;
        for (var count = reader.ReadMapHeader(); count > 0; count--)
        {
            switch (reader.ReadString())
            {
                case "id": id = reader.ReadInt64(); break;
                case "type": type = reader.ReadString(); break;
                case "title": title = reader.ReadString(); break;
                case "body": body = reader.ReadString(); break;
                case "data": data = ReadData(ref reader, options); break;
                case "priority": priority = reader.ReadString(); break;
                case "senderId": senderId = reader.ReadString(); break;
                case "createdAt": createdAt = ReadTime(ref reader); break;
                case "expiresAt": expiresAt = ReadTime(ref reader); break;
                case "readAt": readAt = ReadTime(ref reader); break;
                case "seenAt": seenAt = ReadTime(ref reader); break;
                case "archivedAt": archivedAt = ReadTime(ref reader); break;
                default: reader.Skip(); break;
            }
        }

        return new NotificationMessage(Required(id, "id"), Required(type, "type"), Required(title, "title"), body, data,
            priority ?? "normal", senderId ?? string.Empty, Required(createdAt, "createdAt"), expiresAt, readAt, seenAt, archivedAt);
    }

    private static DateTimeOffset? ReadTime(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        // The service writes timestamps; an ISO-8601 string (the JSON shape) is read too.
        return reader.NextMessagePackType == MessagePackType.String
            ? DateTimeOffset.Parse(reader.ReadString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal)
            : new DateTimeOffset(reader.ReadDateTime());
    }

    private static JsonElement? ReadData(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            WriteJson(ref reader, json, options);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    /// <summary>One MessagePack value as JSON: maps become objects, integers stay integers.</summary>
    private static void WriteJson(ref MessagePackReader reader, Utf8JsonWriter json, MessagePackSerializerOptions options)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                options.Security.DepthStep(ref reader);
                json.WriteStartObject();
                for (var count = reader.ReadMapHeader(); count > 0; count--)
                {
                    json.WritePropertyName(reader.NextMessagePackType == MessagePackType.String
                        ? reader.ReadString()!
                        : reader.ReadInt64().ToString(CultureInfo.InvariantCulture));
                    WriteJson(ref reader, json, options);
                }

                json.WriteEndObject();
                reader.Depth--;
                break;
            case MessagePackType.Array:
                options.Security.DepthStep(ref reader);
                json.WriteStartArray();
                for (var count = reader.ReadArrayHeader(); count > 0; count--)
                {
                    WriteJson(ref reader, json, options);
                }

                json.WriteEndArray();
                reader.Depth--;
                break;
            case MessagePackType.Integer when reader.NextCode == MessagePackCode.UInt64:
                json.WriteNumberValue(reader.ReadUInt64());
                break;
            case MessagePackType.Integer:
                json.WriteNumberValue(reader.ReadInt64());
                break;
            case MessagePackType.Float:
                json.WriteNumberValue(reader.ReadDouble());
                break;
            case MessagePackType.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.String:
                json.WriteStringValue(reader.ReadString());
                break;
            case MessagePackType.Nil:
                reader.ReadNil();
                json.WriteNullValue();
                break;
            default:
                // Binary and extensions have no JSON form in the contract's data.
                reader.Skip();
                json.WriteNullValue();
                break;
        }
    }

    private static T Required<T>(T? value, string key)
        where T : class =>
        value ?? throw new MessagePackSerializationException($"The server's payload has no '{key}'.");

    private static T Required<T>(T? value, string key)
        where T : struct =>
        value ?? throw new MessagePackSerializationException($"The server's payload has no '{key}'.");
}
