
namespace Notifications.Api.Hardening;

/// <summary>
/// Refuses (403) any request whose <c>Origin</c> is neither the service's own nor listed in <c>Cors:AllowedOrigins</c>.
/// CORS alone only hides responses from scripts; a WebSocket upgrade is not covered by CORS at all, so without this a
/// page on any site could open the hub with a token it holds (cross-site WebSocket hijacking).
/// </summary>
public sealed class OriginGuardMiddleware(RequestDelegate next, OriginPolicy policy, IProblemDetailsService problems, ILogger<OriginGuardMiddleware> logger)
{
    private const int MaxLoggedOriginLength = 200;

    // Not async on the way through: a hub connection is one request that lasts hours, and every middleware that awaits
    // the rest of the pipeline keeps its state machine alive for that long.
    public Task InvokeAsync(HttpContext context) => policy.Allows(context.Request) ? next(context) : RefuseAsync(context);

    private async Task RefuseAsync(HttpContext context)
    {
        var origin = context.Request.Headers.Origin.ToString();
        logger.LogWarning("Refused {Method} {Path} from origin {Origin}: not in Cors:AllowedOrigins",
            context.Request.Method, context.Request.Path, origin.Length > MaxLoggedOriginLength ? origin[..MaxLoggedOriginLength] : origin);
        await problems.RefuseAsync(
            context,
            StatusCodes.Status403Forbidden,
            "Origin not allowed",
            "Requests from this browser origin are not allowed. The service's operator can add it to Cors:AllowedOrigins.");
    }
}
