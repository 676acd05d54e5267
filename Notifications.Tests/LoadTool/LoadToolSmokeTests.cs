using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.LoadTool;

/// <summary>
/// Keeps the load tool working: its smoke scenario (a few raw-WebSocket clients, broadcasts, a targeted send,
/// Ack and Sync) against a real API process. No timing is asserted; benchmarks live in docs/benchmarks.md.
/// </summary>
public sealed class LoadToolSmokeTests
{
    private static string LoadToolAssembly
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(ServiceProcess.RepositoryRoot, "Notifications.LoadTest", "bin", configuration, "net10.0", "Notifications.LoadTest.dll");
        }
    }

    private static async Task<ServiceProcess> StartServerAsync(string directory, bool messagePack = false, bool unlimitedSends = false)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["ConnectionStrings:Notifications"] = $"Data Source={Path.Combine(directory, "n.db")}",
            ["Hub:MessagePack"] = messagePack ? "true" : "false",
        };
        if (unlimitedSends)
        {
            // A broadcast burst sends more than the default 3,000 a minute; bench.sh turns the limit off the same way.
            settings["RateLimit:SendsPerMinute"] = "0";
        }

        var server = new ServiceProcess(settings);
        try
        {
            await server.StartAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task Smoke_scenario_passes_against_a_real_server()
    {
        Assert.True(File.Exists(LoadToolAssembly), $"Build the solution first: {LoadToolAssembly} is missing.");
        var directory = Directory.CreateTempSubdirectory("notifications-smoke-").FullName;
        await using var server = await StartServerAsync(directory);

        // Exit code 0 means every client got every broadcast and the targeted send reached only its user.
        var output = await ProcessRunner.RunAsync("dotnet",
            [LoadToolAssembly, "run", "--scenario", "smoke", "--target", server.BaseUri.ToString().TrimEnd('/'),
             "--token-key", TestTokens.SigningKey, "--issuer", TestTokens.Issuer, "--audience", TestTokens.Audience,
             "--out", Path.Combine(directory, "smoke.json"), "--quiet"],
            TimeSpan.FromMinutes(2), check: true);

        Assert.True(File.Exists(Path.Combine(directory, "smoke.json")), $"The load tool wrote no results:\n{output}");
    }

    [Fact]
    public async Task Smoke_scenario_passes_over_messagepack_against_a_real_server()
    {
        Assert.True(File.Exists(LoadToolAssembly), $"Build the solution first: {LoadToolAssembly} is missing.");
        var directory = Directory.CreateTempSubdirectory("notifications-smoke-msgpack-api-").FullName;
        await using var server = await StartServerAsync(directory, messagePack: true);

        await AssertMessagePackSmokePassesAsync(directory,
            ["--target", server.BaseUri.ToString().TrimEnd('/'), "--issuer", TestTokens.Issuer, "--audience", TestTokens.Audience]);
    }

    [Fact]
    public async Task Smoke_scenario_passes_over_messagepack_against_the_baseline()
    {
        Assert.True(File.Exists(LoadToolAssembly), $"Build the solution first: {LoadToolAssembly} is missing.");
        var directory = Directory.CreateTempSubdirectory("notifications-smoke-msgpack-").FullName;
        var port = FreePort.Next();

        // The tool starts its own plain-SignalR baseline as the target (and stops it on the way out).
        await AssertMessagePackSmokePassesAsync(directory,
            ["--target", $"http://127.0.0.1:{port}", "--start-server", $"dotnet '{LoadToolAssembly}' baseline --port {port}",
             "--log-dir", Path.Combine(directory, "logs")]);
    }

    /// <summary>
    /// The smoke over MessagePack: it fails unless every broadcast's id reached every client with its data.sentAt, every
    /// client's ping was understood, and Sync returned the broadcasts; the results must say which protocol ran.
    /// </summary>
    private static async Task AssertMessagePackSmokePassesAsync(string directory, string[] targetArguments)
    {
        var results = Path.Combine(directory, "smoke.json");
        var output = await ProcessRunner.RunAsync("dotnet",
            [LoadToolAssembly, "run", "--scenario", "smoke", "--protocol", "messagepack", .. targetArguments,
             "--token-key", TestTokens.SigningKey, "--out", results, "--quiet"],
            TimeSpan.FromMinutes(2), check: true);

        using var json = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(results));
        Assert.Equal("messagepack", json.RootElement.GetProperty("options").GetProperty("protocol").GetString());
        var metrics = json.RootElement.GetProperty("scenarios")[0].GetProperty("rounds")[0].GetProperty("metrics");
        Assert.Equal(15, metrics.GetProperty("broadcast_receipts").GetDouble());
        Assert.Equal(15, metrics.GetProperty("stamped_receipts").GetDouble());
        Assert.True(metrics.GetProperty("sync_items").GetDouble() >= 3, metrics.ToString());
        Assert.Contains("hub protocol messagepack", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_protocol_is_a_usage_error()
    {
        Assert.True(File.Exists(LoadToolAssembly), $"Build the solution first: {LoadToolAssembly} is missing.");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ProcessRunner.RunAsync("dotnet",
            [LoadToolAssembly, "run", "--scenario", "smoke", "--target", "http://127.0.0.1:9", "--token-key", TestTokens.SigningKey,
             "--quiet", "--protocol", "xml"],
            TimeSpan.FromSeconds(30), check: true));

        Assert.Contains("exited with 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("error: --protocol: 'xml' is not json or messagepack", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Targeted_scenario_with_an_open_loop_reports_every_send_delivered()
    {
        Assert.True(File.Exists(LoadToolAssembly), $"Build the solution first: {LoadToolAssembly} is missing.");
        var directory = Directory.CreateTempSubdirectory("notifications-s4-").FullName;
        await using var server = await StartServerAsync(directory);

        var results = Path.Combine(directory, "s4.json");
        await ProcessRunner.RunAsync("dotnet",
            [LoadToolAssembly, "run", "--scenario", "S4", "--target", server.BaseUri.ToString().TrimEnd('/'),
             "--token-key", TestTokens.SigningKey, "--issuer", TestTokens.Issuer, "--audience", TestTokens.Audience,
             "--no-warmup", "--rounds", "1", "--connections", "5", "--send-concurrency", "2", "--duration", "1", "--warmup", "0",
             "--send-rate", "40", "--out", results, "--quiet"],
            TimeSpan.FromMinutes(2), check: true);

        // No timing is asserted: only that the open loop ran, sent, and every send it made reached its user.
        using var json = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(results));
        var metrics = json.RootElement.GetProperty("scenarios")[0].GetProperty("rounds")[0].GetProperty("metrics");
        Assert.Equal(40, metrics.GetProperty("open_rate").GetDouble());
        Assert.True(metrics.GetProperty("open_sends_per_s").GetDouble() > 0, metrics.ToString());
        Assert.True(metrics.TryGetProperty("open_send_p99_ms", out _), metrics.ToString());
        Assert.Equal(0, metrics.GetProperty("open_sends_failed").GetDouble());
        Assert.Equal(0, metrics.GetProperty("open_lost_deliveries").GetDouble());
        Assert.Equal(0, metrics.GetProperty("lost_deliveries").GetDouble());
    }

    [Fact]
    public async Task Broadcast_rounds_alternate_which_side_goes_first_after_a_warm_up_that_broadcasts_and_report_their_ratios()
    {
        Assert.True(File.Exists(LoadToolAssembly), $"Build the solution first: {LoadToolAssembly} is missing.");
        var directory = Directory.CreateTempSubdirectory("notifications-s3-").FullName;
        await using var server = await StartServerAsync(directory, unlimitedSends: true);
        var url = server.BaseUri.ToString().TrimEnd('/');

        // One server on both sides, under two labels: what is pinned is the order and the warm-up, not a comparison.
        var results = Path.Combine(directory, "s3.json");
        var output = await ProcessRunner.RunAsync("dotnet",
            [LoadToolAssembly, "run", "--scenario", "S3", "--target", url, "--target-label", "a", "--baseline", url, "--baseline-label", "b",
             "--token-key", TestTokens.SigningKey, "--issuer", TestTokens.Issuer, "--audience", TestTokens.Audience,
             "--rounds", "3", "--levels", "5", "--latency-connections", "0", "--duration", "1", "--settle", "0", "--cooldown", "0",
             "--jit-warmup", "0", "--broadcast-warmup", "1", "--out", results, "--quiet"],
            TimeSpan.FromMinutes(2), check: true);

        using var json = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(results));
        var order = json.RootElement.GetProperty("scenarios")[0].GetProperty("rounds").EnumerateArray()
            .Select(r => $"{r.GetProperty("round").GetInt32()}{r.GetProperty("target").GetString()}")
            .ToList();
        Assert.Equal(["1a", "1b", "2b", "2a", "3a", "3b"], order);

        // The ratio within each round, besides the ratio of the medians: its median and range over the 3 rounds.
        var deliveries = json.RootElement.GetProperty("scenarios")[0].GetProperty("summary").EnumerateArray()
            .Single(r => r.GetProperty("metric").GetString() == "deliveries_per_s@5");
        var roundByRound = deliveries.GetProperty("roundByRound");
        Assert.Equal(3, roundByRound.GetProperty("rounds").GetInt32());
        Assert.InRange(roundByRound.GetProperty("median").GetDouble(), roundByRound.GetProperty("min").GetDouble(), roundByRound.GetProperty("max").GetDouble());
        Assert.Contains("round by round (range)", output, StringComparison.Ordinal);
        Assert.Contains("warm-up a: 1s of broadcasts to", output, StringComparison.Ordinal);
        Assert.Contains("warm-up b: 1s of broadcasts to", output, StringComparison.Ordinal);
        Assert.DoesNotContain("deliveries missing", output, StringComparison.Ordinal);
        Assert.DoesNotContain("failed", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--rate", "0")]
    [InlineData("--send-rate", "-5")]
    [InlineData("--rate", "-5")]
    [InlineData("--read-rate", "0")]
    [InlineData("--duration", "0")]
    [InlineData("--connections", "-1")]
    public async Task A_rate_duration_or_count_of_zero_or_less_is_a_usage_error(string option, string value)
    {
        Assert.True(File.Exists(LoadToolAssembly), $"Build the solution first: {LoadToolAssembly} is missing.");

        // Nothing listens on port 9: a tool that accepted the value would fail later, with another exit code and message.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ProcessRunner.RunAsync("dotnet",
            [LoadToolAssembly, "run", "--scenario", "S5", "--target", "http://127.0.0.1:9", "--token-key", TestTokens.SigningKey,
             "--quiet", option, value],
            TimeSpan.FromSeconds(30), check: true));

        Assert.Contains("exited with 2", error.Message, StringComparison.Ordinal);
        Assert.Contains($"error: {option}: ", error.Message, StringComparison.Ordinal);
    }
}
