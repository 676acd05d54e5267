using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using System.Text;

namespace Notifications.Tests.Infrastructure;

/// <summary>Mints tokens the way a real identity provider would, with the fixture's key, issuer and audience.</summary>
public static class TestTokens
{
    public const string Issuer = "notifications-tests";
    public const string Audience = "notifications";
    public const string SigningKey = "test-signing-key-that-is-long-enough-0123456789";

    public static string For(string userId, params string[] roles) => Create(userId, roles, TimeSpan.FromHours(1));

    public static string Create(
        string userId,
        string[] roles,
        TimeSpan lifetime,
        string issuer = Issuer,
        string audience = Audience,
        string signingKey = SigningKey,
        DateTime? issuedAt = null,
        string? tokenType = null)
    {
        var now = issuedAt ?? DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = new Dictionary<string, object> { ["sub"] = userId, ["role"] = roles },
            TokenType = tokenType,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>The settings a server under test needs to accept these tokens.</summary>
    public static Dictionary<string, string?> ServerSettings() => new()
    {
        ["Auth:Issuer"] = Issuer,
        ["Auth:Audience"] = Audience,
        ["Auth:SigningKey"] = SigningKey,
    };
}
