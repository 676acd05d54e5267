using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Notifications.Api.Hardening;

namespace Notifications.Api.Auth;

/// <summary>
/// Authenticates and authorizes hub WebSocket upgrades (the same JWT bearer scheme, the same endpoint policy and the
/// same 401/403 answers as every other request) without keeping that machinery alive for as long as the socket. A
/// WebSocket request lasts as long as its connection, so whatever it holds is paid per idle connection: an awaiting
/// middleware's async frame and what it references, and the request's DI scope with every service resolved from it.
/// Here the JWT handler and the framework's own authorization middleware run in a scope of their own that is disposed
/// at once, and the request keeps only the principal and the token's expiry (which SignalR reads to close the
/// connection when the token expires). Every other request goes through UseAuthentication and UseAuthorization as usual.
/// </summary>
public sealed class HubSocketAuthenticationMiddleware
{
    // Set by the authorization middleware's continuation, which only runs when the endpoint's policy allowed the request.
    private static readonly object Authorized = new();

    private readonly RequestDelegate next;
    private readonly IServiceScopeFactory scopes;
    private readonly AuthorizationMiddleware authorization;

    public HubSocketAuthenticationMiddleware(RequestDelegate next, IServiceScopeFactory scopes, IAuthorizationPolicyProvider policies, IServiceProvider services, ILogger<AuthorizationMiddleware> logger)
    {
        this.next = next;
        this.scopes = scopes;
        authorization = new AuthorizationMiddleware(MarkAuthorized, policies, services, logger);
    }

    /// <summary>Hub WebSocket upgrades: this middleware's requests, which skip UseAuthentication and UseAuthorization.</summary>
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
        var checking = AuthenticateAndAuthorizeAsync(context);
        return checking.IsCompletedSuccessfully
            ? checking.Result ? next(context) : Task.CompletedTask
            : ContinueIfAllowedAsync(checking, context);
    }

    private async Task ContinueIfAllowedAsync(Task<bool> checking, HttpContext context)
    {
        if (await checking)
        {
            await next(context);
        }
    }

    /// <summary>True when the request may go on to the hub; otherwise the 401 or 403 has been written.</summary>
    private async Task<bool> AuthenticateAndAuthorizeAsync(HttpContext context)
    {
        var requestServices = context.Features.Get<IServiceProvidersFeature>();
        AuthenticatedSocket? authenticated = null;
        await using var scope = scopes.CreateAsyncScope();
        context.Features.Set<IServiceProvidersFeature>(new ServiceProvidersFeature { RequestServices = scope.ServiceProvider });
        try
        {
            var result = await scope.ServiceProvider.GetRequiredService<IAuthenticationService>().AuthenticateAsync(context, scheme: null);
            if (result is { Succeeded: true, Principal: { } principal })
            {
                authenticated = new AuthenticatedSocket(principal, result.Properties?.ExpiresUtc, result.Ticket.AuthenticationScheme);
                context.Features.Set<IHttpAuthenticationFeature>(authenticated);
                context.Features.Set<IAuthenticateResultFeature>(authenticated);
            }

            // The framework's middleware, so the hub's [Authorize] means exactly what it means on any endpoint; its
            // continuation only marks the request, and the rest of the pipeline runs after this scope is gone.
            await authorization.Invoke(context);
            return context.Items.Remove(Authorized);
        }
        finally
        {
            context.Features.Set(requestServices);

            // Authorization stores the result it evaluated in the feature; the socket holds only what builds it again.
            authenticated?.DropStoredResult();
        }
    }

    private static Task MarkAuthorized(HttpContext context)
    {
        context.Items[Authorized] = Authorized;
        return Task.CompletedTask;
    }

    /// <summary>
    /// The principal and the token's expiry, with the authentication result built when asked for: SignalR reads it
    /// once, at connect, and a result kept for the socket's lifetime (ticket, properties and their dictionary) would
    /// cost about 300 bytes per idle connection.
    /// </summary>
    private sealed class AuthenticatedSocket(ClaimsPrincipal principal, DateTimeOffset? expiresUtc, string scheme) : IHttpAuthenticationFeature, IAuthenticateResultFeature
    {
        private AuthenticateResult? stored;

        public AuthenticateResult? AuthenticateResult
        {
            get => stored ?? AuthenticateResult.Success(new AuthenticationTicket(User ?? new ClaimsPrincipal(), new AuthenticationProperties { ExpiresUtc = expiresUtc }, scheme));
            set => stored = value;
        }

        public ClaimsPrincipal? User { get; set; } = principal;

        public void DropStoredResult() => stored = null;
    }
}
