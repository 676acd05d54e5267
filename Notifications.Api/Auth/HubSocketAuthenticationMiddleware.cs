using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Notifications.Api.Hardening;

namespace Notifications.Api.Auth;

/// <summary>
/// Authenticates hub WebSocket upgrades (the same JWT bearer scheme and rules as every other request) without
/// keeping the authentication machinery alive for as long as the socket. A WebSocket request lasts as long as its
/// connection, so whatever it holds is paid per idle connection: the authentication middleware's async frame, the
/// request's DI scope with the handler, and the full authentication result. Here the handler runs in a scope of its
/// own that is disposed at once, and the request keeps only the principal and the token's expiry (which SignalR reads
/// to close the connection when the token expires). Every other request goes through UseAuthentication as usual.
/// </summary>
public sealed class HubSocketAuthenticationMiddleware(RequestDelegate next, IServiceScopeFactory scopes)
{
    /// <summary>Hub WebSocket upgrades: this middleware's requests, which skip UseAuthentication.</summary>
    public static bool Handles(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/hubs") && WebSocketUpgrade.IsRequested(context);

    public Task InvokeAsync(HttpContext context)
    {
        if (!Handles(context))
        {
            return next(context);
        }

        // Not awaited in this frame when it completes at once (a cached signing key): the returned task is then the
        // hub's own, and nothing of this middleware stays alive with the connection.
        var authenticating = AuthenticateAsync(context);
        return authenticating.IsCompletedSuccessfully ? next(context) : AuthenticateThenContinueAsync(authenticating, context);
    }

    private async Task AuthenticateThenContinueAsync(Task authenticating, HttpContext context)
    {
        await authenticating;
        await next(context);
    }

    private async Task AuthenticateAsync(HttpContext context)
    {
        var requestServices = context.Features.Get<IServiceProvidersFeature>();
        await using var scope = scopes.CreateAsyncScope();
        context.Features.Set<IServiceProvidersFeature>(new ServiceProvidersFeature { RequestServices = scope.ServiceProvider });
        try
        {
            var result = await scope.ServiceProvider.GetRequiredService<IAuthenticationService>().AuthenticateAsync(context, scheme: null);
            if (result is { Succeeded: true, Principal: { } principal })
            {
                var kept = new AuthenticatedSocket(AuthenticateResult.Success(new AuthenticationTicket(
                    principal, new AuthenticationProperties { ExpiresUtc = result.Properties?.ExpiresUtc }, result.Ticket.AuthenticationScheme)));
                context.Features.Set<IHttpAuthenticationFeature>(kept);
                context.Features.Set<IAuthenticateResultFeature>(kept);
            }
        }
        finally
        {
            context.Features.Set(requestServices);
        }
    }

    private sealed class AuthenticatedSocket(AuthenticateResult result) : IHttpAuthenticationFeature, IAuthenticateResultFeature
    {
        public AuthenticateResult? AuthenticateResult { get; set; } = result;

        public ClaimsPrincipal? User { get; set; } = result.Principal;
    }
}
