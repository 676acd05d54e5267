using System.ComponentModel.DataAnnotations;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using Notifications.Domain;

namespace Notifications.Api.Sending;

// Property-level rules, so one response lists every bad field at once.

/// <summary><c>data</c> is a JSON object of at most 16 KB serialized (or absent), whose strings are Unicode text.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class JsonObjectDataAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        value is JsonElement element && Check(element) is { } error ? Fail(error, validationContext) : ValidationResult.Success;

    internal static string? Check(JsonElement data) => data switch
    {
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
        { ValueKind: not JsonValueKind.Object } => "data must be a JSON object.",
        _ when JsonMarshal.GetRawUtf8Value(data).Length > NotificationLimits.MaxDataBytes => $"data must be at most {NotificationLimits.MaxDataBytes} bytes serialized.",
        _ when !IsText(JsonMarshal.GetRawUtf8Value(data)) => NotText,
        _ => null,
    };

    internal const string NotText =
        "data must be Unicode text: valid UTF-8, without a lone surrogate (a \\uD800-\\uDFFF escape without its pair).";

    // The parser keeps data's strings as sent and checks neither their UTF-8 nor that an escaped half of a UTF-16 pair
    // ("\ud800") has its other half, yet no string can be read from such text: storing it would throw (a 500), and
    // every later write of the notification (the JSON and MessagePack pushes, Sync, REST) would too, which over the hub
    // aborts the recipients' connections again on every reconnect.
    private static bool IsText(ReadOnlySpan<byte> json)
    {
        if (!Utf8.IsValid(json))
        {
            return false;
        }

        // A surrogate in valid UTF-8 can only be escaped, so most data skips the walk.
        if (json.IndexOf("\\u"u8) < 0)
        {
            return true;
        }

        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
            {
                try
                {
                    _ = reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    return false;
                }
            }
        }

        return true;
    }

    internal static ValidationResult Fail(string message, ValidationContext context) => new(message, [context.MemberName ?? string.Empty]);
}

/// <summary>A time that must lie in the future at send time (read from the app's TimeProvider).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class InTheFutureAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        var now = (validationContext.GetService(typeof(TimeProvider)) as TimeProvider ?? TimeProvider.System).GetUtcNow().UtcDateTime;
        return value is DateTime time && Check(time, now) is { } error
            ? JsonObjectDataAttribute.Fail(error, validationContext)
            : ValidationResult.Success;
    }

    internal static string? Check(DateTime time, DateTime now) =>
        SendNotificationRequest.ToUtc(time) <= now ? "expiresAt must lie in the future." : null;
}

/// <summary>At least one part; entries non-null and within their lengths; at most 1000 entries.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ValidAudienceAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        if (value is not AudienceRequest audience)
        {
            return ValidationResult.Success;
        }

        var error = Check(audience);
        return error is null ? ValidationResult.Success : JsonObjectDataAttribute.Fail(error, validationContext);
    }

    internal static string? Check(AudienceRequest audience)
    {
        if (!audience.Everyone && IsEmpty(audience.Users) && IsEmpty(audience.Roles) && IsEmpty(audience.Groups))
        {
            return "audience must name at least one user, role or group, or everyone.";
        }

        if ((audience.Users?.Length ?? 0) + (audience.Roles?.Length ?? 0) + (audience.Groups?.Length ?? 0) > Audience.MaxEntries)
        {
            return $"audience may list at most {Audience.MaxEntries} users, roles and groups together.";
        }

        return BadEntry(audience.Users, NotificationLimits.MaxUserIdLength, "users")
            ?? BadEntry(audience.Roles, NotificationLimits.MaxRoleLength, "roles")
            ?? BadGroup(audience.Groups);
    }

    private static bool IsEmpty(string[]? values) => values is null || values.All(string.IsNullOrWhiteSpace);

    private static string? BadEntry(string[]? values, int maxLength, string name) => values switch
    {
        null => null,
        _ when values.Any(v => v is null) => $"audience.{name} must not contain null.",
        _ when values.Any(v => v.Length > maxLength || v.Any(char.IsControl)) => $"audience.{name} entries must be at most {maxLength} printable characters.",
        _ => null,
    };

    private static string? BadGroup(string[]? groups) =>
        groups?.Any(g => g is null || !GroupRules.IsValidName(g.Trim())) == true
            ? "audience.groups entries must be group names (1-64 characters of letters, digits, '.', '_' and '-')."
            : null;
}
