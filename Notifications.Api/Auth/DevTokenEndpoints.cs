using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Notifications.Domain;

namespace Notifications.Api.Auth;

public sealed record DevTokenRequest
{
    [Required]
    [StringLength(NotificationLimits.MaxUserIdLength, MinimumLength = 1)]
    public string? UserId { get; init; }

    public string[]? Roles { get; init; }

    /// <summary>Optional, for trying token expiry; defaults to Auth:DevTokenLifetimeMinutes.</summary>
    [Range(1, 24 * 60 * 60)]
    public int? LifetimeSeconds { get; init; }
}

public sealed record DevTokenResponse(string AccessToken, DateTime ExpiresAt);

public static class DevTokenEndpoints
{
    /// <summary>Development only: mints a token for any user and roles so a person can try the service at once.</summary>
    public static IEndpointRouteBuilder MapDevTokenEndpoint(this IEndpointRouteBuilder app)
    {
        app.MapPost("/dev/token", IssueToken).AllowAnonymous().WithTags("Development");
        return app;
    }

    private static Results<Ok<DevTokenResponse>, ValidationProblem> IssueToken(DevTokenRequest request, IOptions<AuthOptions> options, TimeProvider time)
    {
        var auth = options.Value;
        if (string.IsNullOrWhiteSpace(auth.SigningKey))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["auth"] = ["Dev tokens need Auth:SigningKey; this instance uses an OIDC authority."] });
        }

        var roles = (request.Roles ?? []).Where(r => !string.IsNullOrWhiteSpace(r)).Select(r => r.Trim()).Distinct().ToArray();
        var now = time.GetUtcNow().UtcDateTime;
        var expires = now.AddSeconds(request.LifetimeSeconds ?? auth.DevTokenLifetimeMinutes * 60);
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = auth.Issuer,
            Audience = auth.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = expires,
            Claims = new Dictionary<string, object> { [AuthSetup.UserIdClaim] = request.UserId!, [AuthSetup.RoleClaim] = roles },
            SigningCredentials = new SigningCredentials(AuthSetup.SigningKeyOf(auth), SecurityAlgorithms.HmacSha256),
        });
        return TypedResults.Ok(new DevTokenResponse(token, expires));
    }
}
