using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Notifications.Api.Auth;

namespace Notifications.Tests.Security;

/// <summary>
/// The scheme's token handler keeps only <c>sub</c> and <c>role</c>, and reads from every token the same user and
/// roles that IdentityModel's default handler would have given the service.
/// </summary>
public sealed class SubAndRoleTokenHandlerTests
{
    private static readonly SymmetricSecurityKey Key = new(Encoding.UTF8.GetBytes("a-signing-key-for-the-handler-tests-0123456789"));

    private static readonly TokenValidationParameters Parameters = new()
    {
        ValidIssuer = "issuer",
        ValidAudience = "audience",
        IssuerSigningKey = Key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        NameClaimType = AuthSetup.UserIdClaim,
        RoleClaimType = AuthSetup.RoleClaim,
    };

    public static TheoryData<string, object?, object?> Payloads() => new()
    {
        { "one role as text", "alice", "admin" },
        { "roles as an array", "alice", new[] { "admin", "publisher" } },
        { "an empty role array", "alice", Array.Empty<string>() },
        { "no role", "alice", null },
        { "a numeric sub", 42, "admin" },
        { "a numeric role", "alice", 7 },
        { "a flag as role", "alice", true },
        { "a mixed role array", "alice", new object[] { "admin", 1 } },
        { "no sub", null, "admin" },
    };

    [Theory]
    [MemberData(nameof(Payloads))]
    public async Task The_identity_holds_the_user_and_roles_the_default_handler_reads_and_nothing_else(string payload, object? sub, object? role)
    {
        var token = Token(sub, role);

        var lean = await ValidAsync(new SubAndRoleTokenHandler(), token);
        var full = await ValidAsync(new JsonWebTokenHandler { MapInboundClaims = false }, token);

        Assert.Equal(full.FindFirst(AuthSetup.UserIdClaim)?.Value, lean.FindFirst(AuthSetup.UserIdClaim)?.Value);
        Assert.Equal(RolesOf(full), RolesOf(lean));
        Assert.All(lean.Claims, c => Assert.Contains(c.Type, new[] { AuthSetup.UserIdClaim, AuthSetup.RoleClaim }));
        Assert.True(lean.IsAuthenticated, payload);
        Assert.Equal(full.AuthenticationType, lean.AuthenticationType);
        Assert.Equal(full.Name, lean.Name);
        Assert.All(full.FindAll(AuthSetup.RoleClaim), r => Assert.True(new ClaimsPrincipal(lean).IsInRole(r.Value), r.Value));
    }

    [Fact]
    public async Task A_token_the_default_handler_refuses_is_refused()
    {
        var tampered = Token("alice", "user").Split('.');
        var forged = Token("alice", "admin").Split('.');
        var handler = new SubAndRoleTokenHandler();

        var result = await handler.ValidateTokenAsync($"{tampered[0]}.{forged[1]}.{tampered[2]}", Parameters).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(result.IsValid);
    }

    private static async Task<ClaimsIdentity> ValidAsync(JsonWebTokenHandler handler, string token)
    {
        var result = await handler.ValidateTokenAsync(token, Parameters).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.IsValid, result.Exception?.Message);
        return result.ClaimsIdentity;
    }

    private static string[] RolesOf(ClaimsIdentity identity) =>
        [.. identity.FindAll(AuthSetup.RoleClaim).Select(c => c.Value).Order(StringComparer.Ordinal)];

    private static string Token(object? sub, object? role)
    {
        var claims = new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString("N") };
        if (sub is not null)
        {
            claims[AuthSetup.UserIdClaim] = sub;
        }

        if (role is not null)
        {
            claims[AuthSetup.RoleClaim] = role;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "issuer",
            Audience = "audience",
            Expires = DateTime.UtcNow.AddHours(1),
            Claims = claims,
            SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256),
        });
    }
}
