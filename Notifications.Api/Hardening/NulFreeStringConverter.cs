using System.Text.Json;
using System.Text.Json.Serialization;

namespace Notifications.Api.Hardening;

/// <summary>
/// Refuses NUL (U+0000) in every string of a JSON request body. PostgreSQL cannot store it in text and other stores
/// and tools truncate at it, so it is never legitimate in a type, title, body, user, role or group name.
/// </summary>
public sealed class NulFreeStringConverter : JsonConverter<string>
{
    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var value = reader.GetString();
        return value is not null && value.Contains('\0', StringComparison.Ordinal)
            ? throw new RejectedTextException("Text must not contain NUL characters (U+0000).")
            : value;
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>A JSON value that parsed but breaks a rule every text field shares; its message is safe to show the caller.</summary>
public sealed class RejectedTextException(string message) : JsonException(message);
