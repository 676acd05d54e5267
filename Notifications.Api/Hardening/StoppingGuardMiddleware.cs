using System.Globalization;

namespace Notifications.Api.Hardening;

/// <summary>
/// Once the instance is stopping, refuses (503, <c>Retry-After</c>) every request that would open a hub connection:
/// negotiate, a WebSocket upgrade, a Server-Sent Events stream, a connect without negotiate. SignalR closes its
/// connections at <c>ApplicationStopping</c>, but Kestrel keeps accepting until its own stop: a client reconnecting at
/// once (sticky routing sends it back here) would get a connection nobody closes, which Kestrel then waits for until
/// <c>Shutdown:TimeoutSeconds</c> and aborts, with the background services left no time to stop.
/// Long-polling polls and sends of a connection negotiated before are let through: SignalR is closing that connection
/// and tells the client so (or answers 404 once it is gone); a refusal could cut off what it still had to deliver.
/// </summary>
public sealed class StoppingGuardMiddleware(RequestDelegate next, IHostApplicationLifetime lifetime, IProblemDetailsService problems)
{
    /// <summary>Seconds a refused client is told to wait: by then this instance is gone and another one answers.</summary>
    public const int RetryAfterSeconds = 2;

    // Set before any ApplicationStopping callback runs, so SignalR's closing of its connections never precedes it.
    private readonly CancellationToken stopping = lifetime.ApplicationStopping;

    // Not async on the way through (see OriginGuardMiddleware).
    public Task InvokeAsync(HttpContext context) =>
        stopping.IsCancellationRequested && OpensHubConnection(context) ? RefuseAsync(context) : next(context);

    /// <summary>Whether a request to a hub would start a connection on this instance.</summary>
    public static bool OpensHubConnection(HttpContext context)
    {
        var request = context.Request;
        if (!request.Path.StartsWithSegments("/hubs", out var rest))
        {
            return false;
        }

        return rest.Value?.EndsWith("/negotiate", StringComparison.OrdinalIgnoreCase) == true
            || !request.Query.ContainsKey("id")
            || WebSocketUpgrade.IsRequested(context)
            || request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);
    }

    private async Task RefuseAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);

        // A proxy or client would otherwise send its next request down this kept-alive connection, back to this
        // instance; a new connection reaches another one once this instance stops listening. HTTP/2 has no such header.
        if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
        {
            response.Headers.Connection = "close";
        }

        await problems.RefuseAsync(
            context,
            StatusCodes.Status503ServiceUnavailable,
            "Shutting down",
            "This instance is shutting down and accepts no new hub connections; connect again (another instance answers).");
    }
}
