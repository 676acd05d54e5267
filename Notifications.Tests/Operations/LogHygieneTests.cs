using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Operations;

/// <summary>
/// The real process at Debug level, with the console telemetry exporter on, after traffic that puts tokens in query
/// strings (WebSockets and long polling) and sends with recognizable text: its whole console output holds no
/// <c>access_token=</c>, no token and no message text, while request logs, metrics and traces are there.
/// </summary>
public sealed class LogHygieneTests
{
    private const string Secret = "zq7-secret-marker";

    [Fact]
    public async Task Logs_metrics_and_traces_contain_no_tokens_query_strings_or_message_text()
    {
        var directory = Directory.CreateTempSubdirectory("notifications-logs-").FullName;
        await using var process = new ServiceProcess(DatabaseSettings.Sqlite(Path.Combine(directory, "n.db"), new()
        {
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Debug",
            ["Logging:Console:LogLevel:Default"] = "Trace",
            ["Telemetry:Exporter"] = "console",
            ["Telemetry:MetricExportIntervalSeconds"] = "1",
        }));
        await process.StartAsync();
        var user = TestUsers.New("logs");
        var tokens = new List<string>();
        string TokenFor(string id, params string[] roles)
        {
            var token = TestTokens.For(id, roles);
            tokens.Add(token);
            return token;
        }

        var hubUri = new Uri(process.BaseUri, "hubs/notifications");
        await using (var webSocket = Connect(hubUri, TokenFor(user), HttpTransportType.WebSockets))
        await using (var longPolling = Connect(hubUri, TokenFor(user), HttpTransportType.LongPolling))
        {
            var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            webSocket.On<System.Text.Json.JsonElement>("ReceiveNotification", n => received.TrySetResult(n.GetProperty("body").GetString()!));
            await webSocket.StartAsync().WithTimeout(what: "the WebSocket connection");
            await longPolling.StartAsync().WithTimeout(what: "the long-polling connection");

            using var sender = new HttpClient { BaseAddress = process.BaseUri, Timeout = Timeouts.Default };
            sender.DefaultRequestHeaders.Authorization = new("Bearer", TokenFor("log-sender", "admin"));
            using var sent = await sender.PostAsJsonAsync("api/notifications", new
            {
                type = "test.logs",
                title = $"title {Secret}",
                body = $"body {Secret}",
                data = new { note = $"data {Secret}" },
                audience = new { users = new[] { user } },
            }).WithTimeout();
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
            Assert.Equal($"body {Secret}", await received.Task.WithTimeout(what: "the push"));
            Assert.Equal(1, await longPolling.InvokeAsync<int>("GetUnreadCount").WithTimeout());

            // Refused tokens are logged by the authentication handler: their failures must not quote them either.
            var expired = TestTokens.Create(user, [], TimeSpan.FromMinutes(1), issuedAt: DateTime.UtcNow.AddHours(-1));
            tokens.Add(expired);
            using var anonymous = new HttpClient { BaseAddress = process.BaseUri, Timeout = Timeouts.Default };
            using var refused = await anonymous.PostAsync($"hubs/notifications/negotiate?negotiateVersion=1&access_token={expired}", null).WithTimeout();
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // Metrics are exported every second; wait for one export after the traffic.
        await Timeouts.Eventually(() => Task.FromResult(process.Output.Contains("notifications.sent", StringComparison.Ordinal)), "the console exporter to print the Notifications meter");
        var output = process.Output;

        Assert.Contains("Request POST /hubs/notifications/negotiate finished 200", output, StringComparison.Ordinal);
        Assert.Contains("Request GET /hubs/notifications", output, StringComparison.Ordinal);
        Assert.Contains("dbug:", output, StringComparison.Ordinal);

        // Correlation: log lines inside a request carry its W3C trace and span ids.
        Assert.Matches(@"=> SpanId:[0-9a-f]{16}, TraceId:[0-9a-f]{32}", output);
        Assert.Contains("Activity.TraceId", output, StringComparison.Ordinal);
        Assert.DoesNotContain("access_token", output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Secret, output, StringComparison.Ordinal);
        foreach (var token in tokens)
        {
            Assert.DoesNotContain(token, output, StringComparison.Ordinal);

            // Neither the signature nor the payload alone (a log could split or trim a token).
            foreach (var part in token.Split('.').Skip(1))
            {
                Assert.DoesNotContain(part, output, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>Token in the query string, as browsers send it (they cannot set headers on WebSockets); long polling repeats it on every poll.</summary>
    private static HubConnection Connect(Uri hub, string token, HttpTransportType transport) =>
        new HubConnectionBuilder().WithUrl(new Uri($"{hub}?access_token={token}"), transport).Build();
}
