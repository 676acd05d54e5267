using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Notifications.Domain;

namespace Notifications.Api.Auth;

public static class AuthSetup
{
    public const string RoleClaim = "role";
    public const string UserIdClaim = "sub";
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    public static IServiceCollection AddNotificationsAuth(this IServiceCollection services, IHostEnvironment environment)
    {
        services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.Section)
            .PostConfigure(options =>
            {
                // Development runs with nothing configured: a fresh key per process, fixed issuer and audience.
                if (environment.IsDevelopment() && string.IsNullOrWhiteSpace(options.SigningKey) && string.IsNullOrWhiteSpace(options.Authority))
                {
                    options.SigningKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
                }
            })
            .ValidateDataAnnotations()
            .Validate(
                options => string.IsNullOrWhiteSpace(options.Authority) || IsUsableAuthority(options.Authority, environment),
                "Auth:Authority must be an absolute https URL (http only in Development).")
            .ValidateOnStart();

        services.AddSingleton<ValidatedTokenCache>();
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>, ValidatedTokenCache>((jwt, auth, cache) => Configure(jwt, auth.Value, environment, cache));
        services.AddAuthorization();
        return services;
    }

    private static void Configure(JwtBearerOptions jwt, AuthOptions auth, IHostEnvironment environment, ValidatedTokenCache cache)
    {
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = auth.Issuer,
            ValidateAudience = true,
            ValidAudience = auth.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = ClockSkew,
            NameClaimType = UserIdClaim,
            RoleClaimType = RoleClaim,
            ValidTypes = auth.ValidTypes.Length > 0 ? auth.ValidTypes : null,
        };

        if (!string.IsNullOrWhiteSpace(auth.SigningKey))
        {
            jwt.TokenValidationParameters.IssuerSigningKey = SigningKeyOf(auth);
            jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
        }
        else
        {
            jwt.Authority = auth.Authority;
            jwt.RequireHttpsMetadata = !environment.IsDevelopment();
            jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.RsaSha256];
        }

        jwt.Events = new JwtBearerEvents
        {
            // Browsers cannot set headers on WebSockets; the query token is accepted on the hub only.
            OnMessageReceived = context =>
            {
                if (context.HttpContext.Request.Path.StartsWithSegments("/hubs")
                    && context.Request.Query.TryGetValue("access_token", out var token)
                    && !string.IsNullOrEmpty(token))
                {
                    context.Token = token;
                }

                // The same token text the handler would validate next: a hit skips validation, nothing else.
                var presented = context.Token is { } queryToken ? queryToken.AsSpan() : BearerTokenOf(context.Request);
                if (!presented.IsEmpty && cache.TryGet(presented, out var principal, out var issuedUtc, out var expiresUtc))
                {
                    context.Principal = principal;
                    context.Properties.IssuedUtc = issuedUtc;
                    context.Properties.ExpiresUtc = expiresUtc;
                    context.Success();
                }

                return Task.CompletedTask;
            },

            // The principal keeps what the service reads (sub and roles), not the parsed token and its whole claim set:
            // a hub connection holds it for as long as it lasts (~3 KB per idle connection), and REST and the hub then
            // see the same claims. Claim names match exactly, as JWT names do (RFC 7519 section 4): FindFirst and
            // IsInRole would also take "Sub" or "ROLE", which the hub's user id provider would not. The expiry SignalR
            // closes the connection at comes from the authentication properties, not from claims.
            OnTokenValidated = context =>
            {
                var claims = context.Principal?.Claims.Where(c => c.Type is UserIdClaim or RoleClaim).Select(c => new Claim(c.Type, c.Value)).ToList() ?? [];

                // The user id keys every row the user owns: refuse it here, as a 401 at every door, rather than as a
                // store error on the first write (columns hold 128 characters) or a hub connection closed after its
                // handshake.
                if (!NotificationLimits.IsUserId(claims.Find(c => c.Type == UserIdClaim)?.Value))
                {
                    context.Fail($"The token's {UserIdClaim} claim must be {NotificationLimits.UserIdRule}.");
                    return Task.CompletedTask;
                }

                context.Principal = new ClaimsPrincipal(new ClaimsIdentity(claims, context.Principal!.Identity?.AuthenticationType, UserIdClaim, RoleClaim));

                if (context.SecurityToken is JsonWebToken token && context.Principal is { } validated)
                {
                    cache.Add(token.EncodedToken, validated, new DateTimeOffset(token.ValidFrom, TimeSpan.Zero), new DateTimeOffset(token.ValidTo, TimeSpan.Zero));
                }

                return Task.CompletedTask;
            },
        };
    }

    // Checked at startup: the bearer handler would otherwise throw on the first request, making every call a 500.
    private static bool IsUsableAuthority(string authority, IHostEnvironment environment) =>
        Uri.TryCreate(authority, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && environment.IsDevelopment()));

    /// <summary>The bearer token of the Authorization header, read the way the JWT bearer handler reads it (empty if none).</summary>
    private static ReadOnlySpan<char> BearerTokenOf(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization.AsSpan("Bearer ".Length).Trim() : [];
    }

    public static SymmetricSecurityKey SigningKeyOf(AuthOptions auth) => new(Encoding.UTF8.GetBytes(auth.SigningKey!));
}
