using System.Buffers;
using Notifications.Domain;

namespace Notifications.Api.Sending;

/// <summary>
/// The rules of <see cref="SendNotificationRequest"/>, checked by the send handler itself. The send endpoint runs
/// without the validation filter: the filter's pipeline cost S4 about a tenth of its sends per second
/// (docs/benchmarks.md). The attributes on the request stay, as the schema OpenAPI publishes; the custom ones share
/// their checks with this class, and a test holds the built-in ones to the same verdicts and messages.
/// Like the filter: one message per field (the first rule it breaks), fields in declaration order.
/// </summary>
public static class SendRequestRules
{
    // The characters of NotificationLimits.TypePattern.
    private static readonly SearchValues<char> TypeCharacters = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789._-");

    private const string ExpiresAtField = "expiresAt";

    public static Dictionary<string, string[]>? Check(SendNotificationRequest request, DateTime now)
    {
        Dictionary<string, string[]>? errors = null;
        Add(ref errors, "type", TypeError(request.Type));
        Add(ref errors, "title", TitleError(request.Title));
        Add(ref errors, "body", request.Body is { Length: > NotificationLimits.MaxBodyLength }
            ? $"The field Body must be a string with a maximum length of {NotificationLimits.MaxBodyLength}."
            : null);
        Add(ref errors, "data", request.Data is { } data ? JsonObjectDataAttribute.Check(data) : null);
        Add(ref errors, "priority", request.Priority is null or "low" or "normal" or "high" or "critical"
            ? null
            : "priority must be low, normal, high or critical.");
        Add(ref errors, ExpiresAtField, request.ExpiresAt is { } expires ? InTheFutureAttribute.Check(expires, now) : null);
        Add(ref errors, "audience", request.Audience is { } audience
            ? ValidAudienceAttribute.Check(audience)
            : Required("Audience"));
        return errors;
    }

    /// <summary>
    /// Whether the only rule broken is that expiresAt has passed: the one rule that depends on when the request is
    /// checked, so the same body may have been valid when a first call with its Idempotency-Key was stored.
    /// </summary>
    public static bool OnlyExpiryHasPassed(Dictionary<string, string[]> errors) => errors.Count == 1 && errors.ContainsKey(ExpiresAtField);

    private static string? TypeError(string? type)
    {
        if (string.IsNullOrWhiteSpace(type))
        {
            return Required("Type");
        }

        return type.Length <= NotificationLimits.MaxTypeLength && type.AsSpan().IndexOfAnyExcept(TypeCharacters) < 0
            ? null
            : "type must be 1-100 characters of a-z, 0-9, '.', '_' or '-'.";
    }

    private static string? TitleError(string? title) => string.IsNullOrWhiteSpace(title)
        ? Required("Title")
        : title.Length > NotificationLimits.MaxTitleLength
            ? $"The field Title must be a string with a minimum length of 1 and a maximum length of {NotificationLimits.MaxTitleLength}."
            : null;

    private static string Required(string field) => $"The {field} field is required.";

    private static void Add(ref Dictionary<string, string[]>? errors, string field, string? error)
    {
        if (error is not null)
        {
            (errors ??= [])[field] = [error];
        }
    }
}
