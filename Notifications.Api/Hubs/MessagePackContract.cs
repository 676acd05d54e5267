using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using Notifications.Api.Groups;
using Notifications.Api.Inbox;

namespace Notifications.Api.Hubs;

/// <summary>
/// How the hub's payloads look over SignalR's MessagePack protocol: maps with the contract's camelCase keys (as in
/// JSON), times as MessagePack timestamps, and a notification's <c>data</c> as a native map. SignalR's default resolver
/// would write PascalCase keys and a <see cref="JsonElement"/> as the struct's own properties, losing the data.
/// The payloads only travel from server to client, so these formatters only write.
/// </summary>
public static class MessagePackContract
{
    public static MessagePackSerializerOptions SerializerOptions { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create(
            [new NotificationFormatter(), new SyncPageFormatter(), new SubscribeResultFormatter(), new AllReadFormatter()],
            [StandardResolver.Instance]))

        // Hub arguments are client input: bounded depth, collision-resistant hashing.
        .WithSecurity(MessagePackSecurity.UntrustedData);

    private abstract class WriteOnlyFormatter<T> : IMessagePackFormatter<T?>
        where T : class
    {
        public void Serialize(ref MessagePackWriter writer, T? value, MessagePackSerializerOptions options)
        {
            if (value is null)
            {
                writer.WriteNil();
                return;
            }

            Write(ref writer, value, options);
        }

        public T? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            throw new NotSupportedException($"{typeof(T).Name} is sent to clients, never read from them.");

        protected abstract void Write(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options);
    }

    private sealed class NotificationFormatter : WriteOnlyFormatter<NotificationDto>
    {
        protected override void Write(ref MessagePackWriter writer, NotificationDto value, MessagePackSerializerOptions options) =>
            WriteNotification(ref writer, value);
    }

    private sealed class SyncPageFormatter : WriteOnlyFormatter<SyncPage>
    {
        protected override void Write(ref MessagePackWriter writer, SyncPage value, MessagePackSerializerOptions options)
        {
            writer.WriteMapHeader(3);
            writer.WriteString("items"u8);
            writer.WriteArrayHeader(value.Items.Count);
            foreach (var item in value.Items)
            {
                WriteNotification(ref writer, item);
            }

            writer.WriteString("hasMore"u8);
            writer.Write(value.HasMore);
            writer.WriteString("cursor"u8);
            writer.Write(value.Cursor);
        }
    }

    private sealed class SubscribeResultFormatter : WriteOnlyFormatter<SubscribeResult>
    {
        protected override void Write(ref MessagePackWriter writer, SubscribeResult value, MessagePackSerializerOptions options)
        {
            writer.WriteMapHeader(2);
            writer.WriteString("group"u8);
            writer.Write(value.Group);
            writer.WriteString("joinedAt"u8);
            writer.Write(value.JoinedAt);
        }
    }

    private sealed class AllReadFormatter : WriteOnlyFormatter<AllReadPayload>
    {
        protected override void Write(ref MessagePackWriter writer, AllReadPayload value, MessagePackSerializerOptions options)
        {
            writer.WriteMapHeader(1);
            writer.WriteString("upToId"u8);
            writer.Write(value.UpToId);
        }
    }

    private static void WriteNotification(ref MessagePackWriter writer, NotificationDto n)
    {
        writer.WriteMapHeader(12);
        writer.WriteString("id"u8);
        writer.Write(n.Id);
        writer.WriteString("type"u8);
        writer.Write(n.Type);
        writer.WriteString("title"u8);
        writer.Write(n.Title);
        writer.WriteString("body"u8);
        writer.Write(n.Body);
        writer.WriteString("data"u8);
        if (n.Data is { } data)
        {
            WriteJson(ref writer, data);
        }
        else
        {
            writer.WriteNil();
        }

        writer.WriteString("priority"u8);
        writer.Write(n.Priority);
        writer.WriteString("senderId"u8);
        writer.Write(n.SenderId);
        writer.WriteString("createdAt"u8);
        writer.Write(n.CreatedAt);
        writer.WriteString("expiresAt"u8);
        WriteTime(ref writer, n.ExpiresAt);
        writer.WriteString("readAt"u8);
        WriteTime(ref writer, n.ReadAt);
        writer.WriteString("seenAt"u8);
        WriteTime(ref writer, n.SeenAt);
        writer.WriteString("archivedAt"u8);
        WriteTime(ref writer, n.ArchivedAt);
    }

    private static void WriteTime(ref MessagePackWriter writer, DateTime? value)
    {
        if (value is { } time)
        {
            writer.Write(time);
        }
        else
        {
            writer.WriteNil();
        }
    }

    /// <summary>The JSON value as the MessagePack value a client would expect: integers stay integers.</summary>
    private static void WriteJson(ref MessagePackWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var count = 0;
                foreach (var _ in value.EnumerateObject())
                {
                    count++;
                }

                writer.WriteMapHeader(count);
                foreach (var property in value.EnumerateObject())
                {
                    writer.Write(property.Name);
                    WriteJson(ref writer, property.Value);
                }

                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    WriteJson(ref writer, item);
                }

                break;
            case JsonValueKind.String:
                // Cannot throw: the send refuses a lone surrogate, and one stored before is read as U+FFFD (StoredData).
                writer.Write(value.GetString());
                break;
            case JsonValueKind.Number when value.TryGetInt64(out var integer):
                writer.Write(integer);
                break;
            case JsonValueKind.Number when value.TryGetUInt64(out var unsigned):
                writer.Write(unsigned);
                break;
            case JsonValueKind.Number:
                // Total for any JSON number: beyond double's range it reads as ±Infinity and below it as ±0, the values
                // JSON clients' parsers (JSON.parse, System.Text.Json) make of the raw text the JSON protocol sends.
                writer.Write(value.GetDouble());
                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            default:
                writer.WriteNil();
                break;
        }
    }
}
