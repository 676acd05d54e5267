using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Notifications.LoadTest.Auth;
using Notifications.LoadTest.Client;

namespace Notifications.LoadTest.Http;

/// <summary>Who a send goes to: everyone, or a list of user ids.</summary>
public sealed record SendAudience(bool Everyone, IReadOnlyList<string> Users)
{
    public static SendAudience All { get; } = new(true, []);

    public static SendAudience User(string userId) => new(false, [userId]);
}

public readonly record struct SendOutcome(int Status, long Id, long Ticks, double RetryAfterSeconds, string? Error)
{
    public bool Created => Status == 201;
}

/// <summary>REST side of the contract: POST /api/notifications as admin, and the inbox reads as a user.</summary>
public sealed class SendApi : IDisposable
{
    private readonly HttpClient _http;
    private readonly JwtMinter _minter;
    private readonly string _body;
    private string _adminToken;
    private long _adminTokenMinted;

    public SendApi(JwtMinter minter, int payloadBytes)
    {
        _minter = minter;
        _body = new string('x', Math.Max(0, payloadBytes));
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 512,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };
        _adminToken = minter.ForAdmin();
        _adminTokenMinted = Stopwatch.GetTimestamp();
    }

    public int PayloadBytes => _body.Length;

    private string AdminToken
    {
        get
        {
            if (Stopwatch.GetElapsedTime(_adminTokenMinted) > TimeSpan.FromMinutes(30))
            {
                _adminToken = _minter.ForAdmin();
                _adminTokenMinted = Stopwatch.GetTimestamp();
            }

            return _adminToken;
        }
    }

    /// <summary>POST /api/notifications with a 200-byte body (default) and data {sentAt, seq} for latency matching.</summary>
    public async Task<SendOutcome> SendAsync(HubEndpoint ep, SendAudience audience, long sentAt, long seq, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, ep.Api("api/notifications"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        var content = new ByteArrayContent(BuildBody(audience, sentAt, seq));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Content = content;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            var ticks = Stopwatch.GetTimestamp() - started;
            var bytes = await response.Content.ReadAsByteArrayAsync(ct);
            var status = (int)response.StatusCode;
            if (status == 201)
            {
                return new SendOutcome(status, ReadId(bytes), ticks, 0, null);
            }

            var retry = response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0;
            var text = System.Text.Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 300));
            return new SendOutcome(status, 0, ticks, retry, $"HTTP {status}: {text}");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return new SendOutcome(0, 0, Stopwatch.GetTimestamp() - started, 0, ex.GetType().Name + ": " + ex.Message);
        }
    }

    /// <summary>An authenticated call as a user (or admin when token is null); returns status and elapsed ticks, body drained.</summary>
    public async Task<(int Status, long Ticks, byte[] Body)> CallAsync(HttpMethod method, HubEndpoint ep, string pathAndQuery,
        string? token, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(method, ep.Api(pathAndQuery));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? AdminToken);
        if (method == HttpMethod.Post)
        {
            request.Content = new ByteArrayContent([]);
        }

        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            return ((int)response.StatusCode, Stopwatch.GetTimestamp() - started, body);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (0, Stopwatch.GetTimestamp() - started, []);
        }
    }

    /// <summary>GET path (anonymous); true on a 2xx.</summary>
    public async Task<bool> ProbeAsync(Uri url, CancellationToken ct)
    {
        try
        {
            using var response = await _http.GetAsync(url, ct);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private byte[] BuildBody(SendAudience audience, long sentAt, long seq)
    {
        var buffer = new ArrayBufferWriter<byte>(_body.Length + 256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type"u8, "load.test");
            w.WriteString("title"u8, "Load test");
            w.WriteString("body"u8, _body);
            w.WriteString("priority"u8, "normal");
            w.WriteStartObject("data"u8);
            w.WriteNumber("sentAt"u8, sentAt);
            w.WriteNumber("seq"u8, seq);
            w.WriteEndObject();
            w.WriteStartObject("audience"u8);
            if (audience.Everyone)
            {
                w.WriteBoolean("everyone"u8, true);
            }

            if (audience.Users.Count > 0)
            {
                w.WriteStartArray("users"u8);
                foreach (var u in audience.Users)
                {
                    w.WriteStringValue(u);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static long ReadId(byte[] body)
    {
        try
        {
            var r = new Utf8JsonReader(body);
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
            {
                return 0;
            }

            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("id"u8))
                {
                    r.Read();
                    return r.TokenType == JsonTokenType.Number ? r.GetInt64() : 0;
                }

                r.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return 0;
    }

    public void Dispose() => _http.Dispose();
}
