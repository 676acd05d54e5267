using System.Buffers;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Notifications.Domain;

namespace Notifications.Api.Sending;

/// <summary>
/// What an <c>Idempotency-Key</c> compares: a send as it would be stored, not as it was spelled. Requests that would
/// store the same notification have the same fingerprint whichever serializer wrote them (property order, white
/// space, string escapes, an omitted default, the order or repetition of audience entries, the offset of
/// <c>expiresAt</c>); any difference in what is stored changes it.
/// </summary>
internal static class RequestFingerprint
{
    // Hashes stored before the fingerprint are 64 hex digits without it, so the two kinds cannot be mistaken for each
    // other. Base64url keeps the marked SHA-256 (46 characters) within the column's 64 without a schema change.
    public const string Prefix = "v2:";

    public static string Of(SendNotificationRequest request, Audience audience)
    {
        var canonical = CanonicalBytes(request, audience);
        return Prefix + Base64Url.EncodeToString(SHA256.HashData(canonical.WrittenSpan));
    }

    /// <summary>The canonical form hashed by <see cref="Of"/>, as text.</summary>
    public static string CanonicalForm(SendNotificationRequest request, Audience audience) =>
        Encoding.UTF8.GetString(CanonicalBytes(request, audience).WrittenSpan);

    /// <summary><paramref name="data"/> in canonical JSON, as text.</summary>
    public static string CanonicalJson(JsonElement data)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteCanonical(writer, data);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A hash made by <see cref="LegacyHashOf"/>, stored before the fingerprint existed.</summary>
    public static bool IsLegacy(string hash) => !hash.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// The hash stored before the fingerprint: SHA-256 of the request as System.Text.Json writes it by default, in 64
    /// hex digits, so any other spelling of the same send was a conflict. It stays because rows stored before the upgrade
    /// carry it, and the retry of such a send must still be answered as long as its key lives
    /// (<c>Idempotency:WindowHours</c>); it can go once the window of every key stored before the upgrade has passed.
    /// </summary>
    public static string LegacyHashOf(SendNotificationRequest request) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request))));

    // Each field as NotificationSender stores it: the audience as the domain normalizes it, here also sorted since it is
    // a set; data only when it is an object, as anything else is stored as null.
    private static ArrayBufferWriter<byte> CanonicalBytes(SendNotificationRequest request, Audience audience)
    {
        Priorities.TryParse(request.Priority, out var priority);
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer);
        writer.WriteStartObject();
        writer.WriteString("type", request.Type);
        writer.WriteString("title", request.Title);
        writer.WriteString("body", request.Body);
        writer.WritePropertyName("data");
        if (request.Data is { ValueKind: JsonValueKind.Object } data)
        {
            WriteCanonical(writer, data);
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WriteString("priority", priority.ToName());
        writer.WritePropertyName("expiresAt");
        if (request.ExpiresAtAsStored() is { } expiresAt)
        {
            writer.WriteStringValue(expiresAt);
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WriteBoolean("everyone", audience.Everyone);
        WriteSet(writer, "users", audience.Users);
        WriteSet(writer, "roles", audience.Roles);
        WriteSet(writer, "groups", audience.Groups);
        writer.WriteEndObject();
        writer.Flush();
        return buffer;
    }

    private static void WriteSet(Utf8JsonWriter writer, string name, IReadOnlyList<string> entries)
    {
        writer.WriteStartArray(name);
        foreach (var entry in entries.Order(StringComparer.Ordinal))
        {
            writer.WriteStringValue(entry);
        }

        writer.WriteEndArray();
    }

    // Objects' properties sorted by their unescaped names, ordinally (duplicates are refused at the door, and the sort is
    // stable anyway); arrays in their order; strings unescaped and written again by the one encoder; numbers as their
    // text, which is stored and delivered as sent (1.0 and 1 read differently into a decimal).
    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteCanonical(writer, property.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteCanonical(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            case JsonValueKind.Number:
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(element), skipInputValidation: true);
                break;
            case JsonValueKind.True or JsonValueKind.False:
                writer.WriteBooleanValue(element.GetBoolean());
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}
