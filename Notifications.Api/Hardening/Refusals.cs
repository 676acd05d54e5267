using Microsoft.AspNetCore.Mvc;

namespace Notifications.Api.Hardening;

/// <summary>How the request guards answer a request they refuse.</summary>
internal static class Refusals
{
    /// <summary>
    /// Sets <paramref name="status"/> and writes a ProblemDetails body where the request accepts one: an event-stream
    /// request (a Server-Sent Events connect) accepts no JSON, and gets the status and headers alone.
    /// </summary>
    public static async Task RefuseAsync(this IProblemDetailsService problems, HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}
