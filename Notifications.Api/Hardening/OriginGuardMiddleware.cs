using Microsoft.AspNetCore.Mvc;

namespace Notifications.Api.Hardening;

/// <summary>
/// Refuses (403) any request whose <c>Origin</c> is neither the service's own nor listed in <c>Cors:AllowedOrigins</c>.
/// CORS alone only hides responses from scripts; a WebSocket upgrade is not covered by CORS at all, so without this a
/// page on any site could open the hub with a token it holds (cross-site WebSocket hijacking).
/// </summary>
public sealed class OriginGuardMiddleware(RequestDelegate next, OriginPolicy policy, IProblemDetailsService problems, ILogger<OriginGuardMiddleware> logger)
{
    private const int MaxLoggedOriginLength = 200;

    public async Task InvokeAsync(HttpContext context)
    {
        if (policy.Allows(context.Request))
        {
            await next(context);
            return;
        }

        var origin = context.Request.Headers.Origin.ToString();
        logger.LogWarning("Refused {Method} {Path} from origin {Origin}: not in Cors:AllowedOrigins",
            context.Request.Method, context.Request.Path, origin.Length > MaxLoggedOriginLength ? origin[..MaxLoggedOriginLength] : origin);
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status403Forbidden,
                Title = "Origin not allowed",
                Detail = "Requests from this browser origin are not allowed. The service's operator can add it to Cors:AllowedOrigins.",
            },
        });
    }
}
