using System.Security.Claims;
using Notifications.Domain;

namespace Notifications.Api.Auth;

public static class ViewerExtensions
{
    /// <summary>The caller as the domain sees it: id from <c>sub</c>, roles from <c>role</c> claims of this token.</summary>
    public static Viewer ToViewer(this ClaimsPrincipal principal)
    {
        var userId = principal.FindFirstValue(AuthSetup.UserIdClaim);
        if (string.IsNullOrEmpty(userId))
        {
            throw new UnauthorizedAccessException("The token has no 'sub' claim.");
        }

        var roles = principal.FindAll(AuthSetup.RoleClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        return new Viewer(userId, roles);
    }
}
