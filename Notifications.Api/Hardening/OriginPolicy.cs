using Microsoft.Extensions.Options;

namespace Notifications.Api.Hardening;

/// <summary>
/// Which browser origins may call the service. Browsers do not apply CORS to WebSockets, so the same list is also
/// enforced on the server for every request that carries an <c>Origin</c> header (see <see cref="OriginGuardMiddleware"/>).
/// </summary>
public sealed class OriginPolicy(IOptions<OriginOptions> options)
{
    private readonly HashSet<string> allowed = options.Value.AllowedOrigins
        .Select(Normalize).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyCollection<string> AllowedOrigins => allowed;

    /// <summary>Listed in <c>Cors:AllowedOrigins</c> (what CORS answers with Access-Control-Allow-Origin).</summary>
    public bool IsListed(string origin) => Normalize(origin) is { } normalized && allowed.Contains(normalized);

    /// <summary>
    /// No Origin (a server-side client), the service's own origin (its pages), or a listed one. A page's own origin is
    /// compared by authority only: behind a TLS-terminating proxy the request scheme is http while the page is https.
    /// </summary>
    public bool Allows(HttpRequest request)
    {
        var origin = request.Headers.Origin;
        if (origin.Count == 0)
        {
            return true;
        }

        return origin.Count == 1 && origin[0] is { Length: > 0 } value && (IsListed(value) || IsSameOrigin(value, request));
    }

    private static bool IsSameOrigin(string origin, HttpRequest request) =>
        request.Host.HasValue
        && Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);

    /// <summary><c>scheme://host[:port]</c> in lower case without a default port, or null when it is not an http(s) origin.</summary>
    public static string? Normalize(string? origin)
    {
        if (string.IsNullOrWhiteSpace(origin)
            || !Uri.TryCreate(origin.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            return null;
        }

        return uri.GetLeftPart(UriPartial.Authority).ToLowerInvariant();
    }
}
