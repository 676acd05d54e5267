using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace Notifications.LoadTest.Baseline;

/// <summary>
/// The baseline's payloads over SignalR's MessagePack protocol, in the shape our service writes: maps with the
/// contract's camelCase keys, times as MessagePack timestamps and <c>data</c> as a native map. SignalR's default
/// (contractless) resolver would write PascalCase keys, a DateTimeOffset as a [DateTime, offset] array, and a
/// <see cref="JsonElement"/> as the struct's own properties, without the data. It repeats what the service's
/// <c>MessagePackContract</c> writes on purpose: the baseline is plain SignalR and references none of our assemblies.
/// </summary>
internal static class BaselineMessagePack
{
    public static MessagePackSerializerOptions SerializerOptions { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create(
            [new NotificationFormatter(), new PageFormatter()],

            // Everything else the hub reads or writes (Ack's ids, Sync's arguments, Subscribe's anonymous result), as
            // SignalR's own default resolver handles it.
            [DynamicEnumAsStringResolver.Instance, ContractlessStandardResolver.Instance]))

        // Hub arguments come from clients.
        .WithSecurity(MessagePackSecurity.UntrustedData);

    private abstract class WriteOnlyFormatter<T> : IMessagePackFormatter<T?>
        where T : class
    {
        public void Serialize(ref MessagePackWriter writer, T? value, MessagePackSerializerOptions options)
        {
            if (value is null)
            {
                writer.WriteNil();
            }
            else
            {
                Write(ref writer, value);
            }
        }

        public T? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            throw new NotSupportedException($"{typeof(T).Name} only goes to clients.");

        protected abstract void Write(ref MessagePackWriter writer, T value);
    }

    private sealed class NotificationFormatter : WriteOnlyFormatter<BaselineNotification>
    {
        protected override void Write(ref MessagePackWriter writer, BaselineNotification value) => WriteNotification(ref writer, value);
    }

    private sealed class PageFormatter : WriteOnlyFormatter<BaselinePage>
    {
        protected override void Write(ref MessagePackWriter writer, BaselinePage value)
        {
            writer.WriteMapHeader(3);
            writer.WriteString("items"u8);
            writer.WriteArrayHeader(value.Items.Count);
            foreach (var n in value.Items)
            {
                WriteNotification(ref writer, n);
            }

            writer.WriteString("hasMore"u8);
            writer.Write(value.HasMore);
            writer.WriteString("cursor"u8);
            writer.Write(value.Cursor);
        }
    }

    private static void WriteNotification(ref MessagePackWriter writer, BaselineNotification n)
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
        writer.Write(n.CreatedAt.UtcDateTime);
        writer.WriteString("expiresAt"u8);
        WriteTime(ref writer, n.ExpiresAt);
        writer.WriteString("readAt"u8);
        WriteTime(ref writer, n.ReadAt);
        writer.WriteString("seenAt"u8);
        WriteTime(ref writer, n.SeenAt);
        writer.WriteString("archivedAt"u8);
        WriteTime(ref writer, n.ArchivedAt);
    }

    private static void WriteTime(ref MessagePackWriter writer, DateTimeOffset? value)
    {
        if (value is { } t)
        {
            writer.Write(t.UtcDateTime);
        }
        else
        {
            writer.WriteNil();
        }
    }

    /// <summary>A JSON value as the native MessagePack value: integers stay integers (the tool's sentAt is an int64).</summary>
    private static void WriteJson(ref MessagePackWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteMapHeader(value.GetPropertyCount());
                foreach (var p in value.EnumerateObject())
                {
                    writer.Write(p.Name);
                    WriteJson(ref writer, p.Value);
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
                writer.Write(value.GetString());
                break;
            case JsonValueKind.Number when value.TryGetInt64(out var l):
                writer.Write(l);
                break;
            case JsonValueKind.Number when value.TryGetUInt64(out var u):
                writer.Write(u);
                break;
            case JsonValueKind.Number:
                writer.Write(value.GetDouble());
                break;
            case JsonValueKind.True or JsonValueKind.False:
                writer.Write(value.ValueKind == JsonValueKind.True);
                break;
            default:
                writer.WriteNil();
                break;
        }
    }
}
