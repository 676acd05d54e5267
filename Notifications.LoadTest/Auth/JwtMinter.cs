using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Notifications.LoadTest.Auth;

/// <summary>
/// Mints HS256 JWTs (sub, role, iss, aud, iat, nbf, exp) without any JWT library, so the tool can
/// connect thousands of distinct users. The key is text; its UTF-8 bytes are the HMAC key (as in the contract).
/// </summary>
public sealed class JwtMinter
{
    private static readonly byte[] HeaderSegment = Encode64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"u8);

    private readonly byte[] _key;
    private readonly string _issuer;
    private readonly string _audience;
    private readonly TimeSpan _lifetime;

    public JwtMinter(string signingKey, string issuer, string audience, TimeSpan lifetime)
    {
        _key = Encoding.UTF8.GetBytes(signingKey);
        _issuer = issuer;
        _audience = audience;
        _lifetime = lifetime;
    }

    public static string UserId(int index) => "load-user-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public string ForUser(int index) => Mint(UserId(index), ["user"]);

    public string ForAdmin() => Mint("load-admin", ["admin"]);

    public string Mint(string subject, IReadOnlyList<string> roles)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(payload))
        {
            w.WriteStartObject();
            w.WriteString("sub"u8, subject);
            if (roles.Count == 1)
            {
                w.WriteString("role"u8, roles[0]);
            }
            else if (roles.Count > 1)
            {
                w.WriteStartArray("role"u8);
                foreach (var r in roles)
                {
                    w.WriteStringValue(r);
                }

                w.WriteEndArray();
            }

            w.WriteString("iss"u8, _issuer);
            w.WriteString("aud"u8, _audience);
            w.WriteNumber("iat"u8, now);
            w.WriteNumber("nbf"u8, now - 60);
            w.WriteNumber("exp"u8, now + (long)_lifetime.TotalSeconds);
            w.WriteEndObject();
        }

        var payloadSegment = Encode64(payload.WrittenSpan);
        var signingInput = new byte[HeaderSegment.Length + 1 + payloadSegment.Length];
        HeaderSegment.CopyTo(signingInput, 0);
        signingInput[HeaderSegment.Length] = (byte)'.';
        payloadSegment.CopyTo(signingInput, HeaderSegment.Length + 1);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, signingInput, mac);
        var sig = Encode64(mac);
        return string.Concat(Encoding.ASCII.GetString(signingInput), ".", Encoding.ASCII.GetString(sig));
    }

    private static byte[] Encode64(ReadOnlySpan<byte> data)
    {
        var buf = new byte[System.Buffers.Text.Base64Url.GetEncodedLength(data.Length)];
        var written = System.Buffers.Text.Base64Url.EncodeToUtf8(data, buf);
        return written == buf.Length ? buf : buf.AsSpan(0, written).ToArray();
    }
}
