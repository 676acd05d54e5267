using System.Security.Claims;
using Notifications.Domain;

namespace Notifications.Api.Auth;

public static class ViewerExtensions
{
    /// <summary>The caller as the domain sees it: id from <c>sub</c>, roles from <c>role</c> claims of this token.</summary>
    public static Viewer ToViewer(this ClaimsPrincipal principal)
    {
        // One pass over the claims, names matched exactly as AuthSetup keeps them: this runs on every request and hub call.
        string? userId = null;
        var roles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var identity in principal.Identities)
        {
            foreach (var claim in identity.Claims)
            {
                if (string.Equals(claim.Type, AuthSetup.RoleClaim, StringComparison.Ordinal))
                {
                    roles.Add(claim.Value);
                }
                else if (userId is null && string.Equals(claim.Type, AuthSetup.UserIdClaim, StringComparison.Ordinal))
                {
                    userId = claim.Value;
                }
            }
        }

        if (string.IsNullOrEmpty(userId))
        {
            throw new UnauthorizedAccessException("The token has no 'sub' claim.");
        }

        return new Viewer(userId, roles);
    }
}
