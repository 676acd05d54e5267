using System.Text.Json;

namespace Notifications.LoadTest.Baseline;

/// <summary>
/// Reads `sub` and `role` from a JWT without validating it: the baseline accepts and ignores tokens so the load
/// tool's client code is identical for both targets. Never do this in a real service.
/// </summary>
internal static class UnvalidatedJwt
{
    public static (string? Subject, string[] Roles) Read(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return (null, []);
        }

        var first = token.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first < 0 || second < 0)
        {
            return (null, []);
        }

        try
        {
            var payload = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(first + 1, second - first - 1));
            using var doc = JsonDocument.Parse(payload);
            string? sub = null;
            var roles = new List<string>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.NameEquals("sub"u8) && p.Value.ValueKind == JsonValueKind.String)
                {
                    sub = p.Value.GetString();
                }
                else if (p.NameEquals("role"u8) || p.NameEquals("roles"u8))
                {
                    if (p.Value.ValueKind == JsonValueKind.String)
                    {
                        roles.Add(p.Value.GetString()!);
                    }
                    else if (p.Value.ValueKind == JsonValueKind.Array)
                    {
                        roles.AddRange(p.Value.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!));
                    }
                }
            }

            return (sub, [.. roles]);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return (null, []);
        }
    }

    public static string? FromHttp(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header[7..].Trim();
        }

        var q = http.Request.Query["access_token"].ToString();
        return q.Length > 0 ? q : null;
    }

    /// <summary>User id: the token's sub, else ?user=, else null.</summary>
    public static string? UserOf(HttpContext http)
    {
        var sub = Read(FromHttp(http)).Subject;
        if (sub is not null)
        {
            return sub;
        }

        var user = http.Request.Query["user"].ToString();
        return user.Length > 0 ? user : null;
    }
}
