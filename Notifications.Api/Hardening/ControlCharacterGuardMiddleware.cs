
namespace Notifications.Api.Hardening;

/// <summary>
/// Refuses (400) a URL whose decoded path or query holds control characters (<c>%00</c>, <c>%0A</c> …). Route values
/// such as user ids come from the path; a newline there would forge log lines and NUL breaks PostgreSQL.
/// </summary>
public sealed class ControlCharacterGuardMiddleware(RequestDelegate next, IProblemDetailsService problems)
{
    // Not async on the way through (see OriginGuardMiddleware).
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        return !HasControlCharacter(request.Path.Value) && !request.Query.Any(q => HasControlCharacter(q.Key) || q.Value.Any(HasControlCharacter))
            ? next(context)
            : RefuseAsync(context);
    }

    private Task RefuseAsync(HttpContext context) => problems.RefuseAsync(
        context,
        StatusCodes.Status400BadRequest,
        "Bad request",
        "The URL must not contain control characters (such as %00 or %0A) in its path or query.");

    private static bool HasControlCharacter(string? text) =>
        text is not null && (text.AsSpan().ContainsAnyInRange('\0', '\u001f') || text.Contains('\u007f', StringComparison.Ordinal));
}
