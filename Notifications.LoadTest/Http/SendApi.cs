using System.Buffers;
using System.Collections.Concurrent;
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
    private const string SendPath = "api/notifications";

    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<HubEndpoint, (RawHttpPoster Poster, string Path)> _posters = new();
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
    public Task<SendOutcome> SendAsync(HubEndpoint ep, SendAudience audience, long sentAt, long seq, CancellationToken ct) =>
        ep.Tls ? SendThroughHttpClientAsync(ep, audience, sentAt, seq, ct) : SendRawAsync(ep, audience, sentAt, seq, ct);

    private async Task<SendOutcome> SendRawAsync(HubEndpoint ep, SendAudience audience, long sentAt, long seq, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var (poster, path) = _posters.GetOrAdd(ep, static e => (new RawHttpPoster(e), e.Api(SendPath).PathAndQuery));
        try
        {
            var r = await poster.PostAsync(path, AdminToken, new SendBody(_body, audience, sentAt, seq), WriteBody,
                static (status, body) => status == 201 ? (ReadId(body), (string?)null) : (0L, $"HTTP {status}: {ErrorText(body)}"), ct);
            var ticks = Stopwatch.GetTimestamp() - started;
            return new SendOutcome(r.Status, r.Result.Item1, ticks, r.Status == 201 ? 0 : r.RetryAfterSeconds, r.Result.Item2);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return new SendOutcome(0, 0, Stopwatch.GetTimestamp() - started, 0, ex.GetType().Name + ": " + ex.Message);
        }
    }

    private async Task<SendOutcome> SendThroughHttpClientAsync(HubEndpoint ep, SendAudience audience, long sentAt, long seq, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, ep.Api(SendPath));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        var content = new ByteArrayContent(BuildBody(new SendBody(_body, audience, sentAt, seq)));
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
            return new SendOutcome(status, 0, ticks, retry, $"HTTP {status}: {ErrorText(bytes)}");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return new SendOutcome(0, 0, Stopwatch.GetTimestamp() - started, 0, ex.GetType().Name + ": " + ex.Message);
        }
    }

    /// <summary>
    /// A GET as a user, hand-written on plain http (HttpClient over TLS): status, elapsed ticks, and the Stopwatch
    /// timestamp at which the response reached the tool's socket (0 where the kernel gives none), body drained.
    /// </summary>
    public async Task<(int Status, long Ticks, long ArrivedAt)> GetAsync(HubEndpoint ep, string pathAndQuery, string token, CancellationToken ct)
    {
        if (ep.Tls)
        {
            var (status, ticks, _) = await CallAsync(HttpMethod.Get, ep, pathAndQuery, token, ct);
            return (status, ticks, 0);
        }

        var started = Stopwatch.GetTimestamp();
        var (poster, _) = _posters.GetOrAdd(ep, static e => (new RawHttpPoster(e), e.Api(SendPath).PathAndQuery));
        try
        {
            var r = await poster.GetAsync(ep.Api(pathAndQuery).PathAndQuery, token, static (status, _) => status, ct);
            return (r.Status, Stopwatch.GetTimestamp() - started, r.ArrivedAt);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return (0, Stopwatch.GetTimestamp() - started, 0);
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

    private static byte[] BuildBody(SendBody body)
    {
        var buffer = new ArrayBufferWriter<byte>(body.Text.Length + 256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            WriteBody(w, body);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteBody(Utf8JsonWriter w, SendBody body)
    {
        w.WriteStartObject();
        w.WriteString("type"u8, "load.test");
        w.WriteString("title"u8, "Load test");
        w.WriteString("body"u8, body.Text);
        w.WriteString("priority"u8, "normal");
        w.WriteStartObject("data"u8);
        w.WriteNumber("sentAt"u8, body.SentAt);
        w.WriteNumber("seq"u8, body.Seq);
        w.WriteEndObject();
        w.WriteStartObject("audience"u8);
        if (body.Audience.Everyone)
        {
            w.WriteBoolean("everyone"u8, true);
        }

        if (body.Audience.Users.Count > 0)
        {
            w.WriteStartArray("users"u8);
            foreach (var u in body.Audience.Users)
            {
                w.WriteStringValue(u);
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static string ErrorText(ReadOnlySpan<byte> body) =>
        System.Text.Encoding.UTF8.GetString(body[..Math.Min(body.Length, 300)]);

    private static long ReadId(ReadOnlySpan<byte> body)
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

    public void Dispose()
    {
        foreach (var (poster, _) in _posters.Values)
        {
            poster.Dispose();
        }

        _http.Dispose();
    }

    private readonly record struct SendBody(string Text, SendAudience Audience, long SentAt, long Seq);
}
