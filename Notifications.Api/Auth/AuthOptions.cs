using System.ComponentModel.DataAnnotations;
using System.Text;

namespace Notifications.Api.Auth;

public sealed class AuthOptions : IValidatableObject
{
    public const string Section = "Auth";
    public const int MinSigningKeyBytes = 32;

    [Required(ErrorMessage = "Auth:Issuer is required.")]
    public string? Issuer { get; set; }

    [Required(ErrorMessage = "Auth:Audience is required.")]
    public string? Audience { get; set; }

    /// <summary>HS256 key as text; its UTF-8 bytes are the HMAC key.</summary>
    public string? SigningKey { get; set; }

    /// <summary>An OIDC authority whose discovery document supplies RS256 signing keys.</summary>
    public string? Authority { get; set; }

    /// <summary>
    /// The token types (JWT header <c>typ</c>) accepted; empty accepts any. Set <c>["at+jwt"]</c> where the provider
    /// marks access tokens so (RFC 9068), so that no other token it signs for this audience (an ID token) gets in.
    /// </summary>
    public string[] ValidTypes { get; set; } = [];

    /// <summary>Lifetime of tokens minted by the Development-only <c>POST /dev/token</c>.</summary>
    [Range(1, 24 * 60)]
    public int DevTokenLifetimeMinutes { get; set; } = 60;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(SigningKey) && string.IsNullOrWhiteSpace(Authority))
        {
            yield return new ValidationResult("Either Auth:SigningKey (HS256, at least 32 bytes) or Auth:Authority (OIDC) is required.", [nameof(SigningKey)]);
        }

        if (!string.IsNullOrWhiteSpace(SigningKey) && Encoding.UTF8.GetByteCount(SigningKey) < MinSigningKeyBytes)
        {
            yield return new ValidationResult($"Auth:SigningKey must be at least {MinSigningKeyBytes} bytes of UTF-8 text.", [nameof(SigningKey)]);
        }
    }
}
