using System.Security.Claims;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Notifications.Api.Auth;

/// <summary>
/// The JWT bearer scheme's token handler: validation is the base class's, unchanged; only the identity it returns holds
/// just the claims the service reads, <c>sub</c> and <c>role</c>. The default builds a claim for every payload entry
/// (iss, aud, exp, iat, nbf …) and keeps the parsed token on the identity; a hub connection holds its principal for as
/// long as it lasts, and every connect of a storm of distinct tokens paid ~1.7 KB more for claims nobody read. A
/// <c>sub</c> or <c>role</c> that is not JSON text (a number, a flag, a mixed array) gets the default's claims, filtered,
/// so every token yields the same user and roles as with the default handler.
/// </summary>
public sealed class SubAndRoleTokenHandler : JsonWebTokenHandler
{
    public SubAndRoleTokenHandler() => MapInboundClaims = false;

    protected override ClaimsIdentity CreateClaimsIdentity(JsonWebToken jwtToken, TokenValidationParameters validationParameters) =>
        Build(jwtToken, validationParameters, jwtToken.Issuer) ?? Filtered(base.CreateClaimsIdentity(jwtToken, validationParameters), validationParameters);

    protected override ClaimsIdentity CreateClaimsIdentity(JsonWebToken jwtToken, TokenValidationParameters validationParameters, string issuer) =>
        Build(jwtToken, validationParameters, issuer) ?? Filtered(base.CreateClaimsIdentity(jwtToken, validationParameters, issuer), validationParameters);

    /// <summary>The identity from the payload's text values, or null when one of them is not text.</summary>
    private static ClaimsIdentity? Build(JsonWebToken token, TokenValidationParameters parameters, string? issuer)
    {
        issuer = string.IsNullOrEmpty(issuer) ? ClaimsIdentity.DefaultIssuer : issuer;
        var claims = new List<Claim>(2);
        if (token.TryGetPayloadValue<object>(AuthSetup.UserIdClaim, out var sub))
        {
            if (sub is not string userId)
            {
                return null;
            }

            claims.Add(new Claim(AuthSetup.UserIdClaim, userId, ClaimValueTypes.String, issuer, issuer));
        }

        if (token.TryGetPayloadValue<object>(AuthSetup.RoleClaim, out var role))
        {
            switch (role)
            {
                case string one:
                    claims.Add(new Claim(AuthSetup.RoleClaim, one, ClaimValueTypes.String, issuer, issuer));
                    break;
                case JsonElement { ValueKind: JsonValueKind.Array } many:
                    foreach (var item in many.EnumerateArray())
                    {
                        if (item.ValueKind != JsonValueKind.String)
                        {
                            return null;
                        }

                        claims.Add(new Claim(AuthSetup.RoleClaim, item.GetString()!, ClaimValueTypes.String, issuer, issuer));
                    }

                    break;
                default:
                    return null;
            }
        }

        return Identity(claims, parameters);
    }

    private static ClaimsIdentity Filtered(ClaimsIdentity full, TokenValidationParameters parameters) =>
        Identity([.. full.Claims.Where(c => c.Type is AuthSetup.UserIdClaim or AuthSetup.RoleClaim).Select(c => new Claim(c.Type, c.Value, c.ValueType, c.Issuer, c.OriginalIssuer))], parameters);

    private static ClaimsIdentity Identity(List<Claim> claims, TokenValidationParameters parameters) =>
        new(claims, parameters.AuthenticationType ?? TokenValidationParameters.DefaultAuthenticationType, parameters.NameClaimType, parameters.RoleClaimType);
}
