using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>
/// Misconfigured auth stops the real process at startup with a message that says what to fix (options validation),
/// instead of a service that starts and then accepts forged or unverifiable tokens.
/// </summary>
public sealed class StartupValidationTests
{
    [Fact]
    public async Task A_signing_key_shorter_than_32_bytes_stops_startup_with_a_clear_message()
    {
        var output = await StartAndExpectFailureAsync(new() { ["Auth:SigningKey"] = "too-short-key-31-bytes-long-xxx" });

        Assert.Contains("Auth:SigningKey must be at least 32 bytes", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_issuer_and_audience_stop_startup_with_a_clear_message()
    {
        var output = await StartAndExpectFailureAsync(new() { ["Auth:Issuer"] = "", ["Auth:Audience"] = "" });

        Assert.Contains("Auth:Issuer is required.", output, StringComparison.Ordinal);
        Assert.Contains("Auth:Audience is required.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_key_and_no_authority_outside_Development_stops_startup()
    {
        var output = await StartAndExpectFailureAsync(new() { ["Auth:SigningKey"] = "" });

        Assert.Contains("Either Auth:SigningKey (HS256, at least 32 bytes) or Auth:Authority (OIDC) is required.", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://idp.example")]
    [InlineData("idp.example/realms/main")]
    public async Task An_authority_that_is_not_an_absolute_https_url_stops_startup_outside_Development(string authority)
    {
        var output = await StartAndExpectFailureAsync(new() { ["Auth:SigningKey"] = "", ["Auth:Authority"] = authority });

        Assert.Contains("Auth:Authority must be an absolute https URL (http only in Development).", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wildcard_origin_stops_startup()
    {
        var output = await StartAndExpectFailureAsync(new() { ["Cors:AllowedOrigins:0"] = "*" });

        Assert.Contains("Cors:AllowedOrigins entry '*' must be an origin", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_PostgreSQL_connection_string_stops_startup_without_echoing_it()
    {
        var output = await StartAndExpectFailureAsync(new()
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Notifications"] = "Host=127.0.0.1;Password=s3cret-in-a-broken;;string",
        });

        Assert.Contains("ConnectionStrings:Notifications is not a valid PostgreSQL connection string", output, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("7")]
    [InlineData("1")]
    [InlineData("MySql")]
    public async Task A_database_provider_that_is_not_one_of_the_names_stops_startup(string provider)
    {
        var output = await StartAndExpectFailureAsync(new() { ["Database:Provider"] = provider });

        Assert.Contains("Database:Provider must be one of Sqlite, SqlServer, Postgres.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Holding_pushed_entries_longer_than_their_lease_stops_startup()
    {
        var output = await StartAndExpectFailureAsync(new() { ["Outbox:LeaseSeconds"] = "2", ["Outbox:PushedDeleteDelayMilliseconds"] = "2000" });

        Assert.Contains("PushedDeleteDelayMilliseconds must be shorter than LeaseSeconds", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Hub:MessagePack", "yes-s3cret", "Hub:MessagePack is not a valid Boolean")]
    [InlineData("RateLimit:SendsPerMinute", "lots-s3cret", "RateLimit:SendsPerMinute is not a valid Int32")]
    [InlineData("Database:MigrateOnStartup", "maybe-s3cret", "Database:MigrateOnStartup is not a valid Boolean")]
    public async Task A_value_of_the_wrong_type_stops_startup_naming_the_key_without_echoing_the_value(string key, string value, string message)
    {
        var output = await StartAndExpectFailureAsync(new() { [key] = value });

        Assert.Contains(message, output, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", output, StringComparison.Ordinal);
    }

    private static async Task<string> StartAndExpectFailureAsync(Dictionary<string, string?> settings)
    {
        await using var process = new ServiceProcess(settings);
        await Assert.ThrowsAsync<InvalidOperationException>(() => process.StartAsync(TimeSpan.FromSeconds(60)));

        Assert.NotNull(process.ExitCode);
        Assert.NotEqual(0, process.ExitCode);
        await Timeouts.Eventually(() => Task.FromResult(process.Output.Contains("Startup failed: the configuration is invalid.", StringComparison.Ordinal)),
            "the process printed why it refused to start");
        Assert.DoesNotContain("Unhandled exception", process.Output, StringComparison.Ordinal);
        return process.Output;
    }
}
