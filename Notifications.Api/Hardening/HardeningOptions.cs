using System.ComponentModel.DataAnnotations;

namespace Notifications.Api.Hardening;

/// <summary><c>Cors:AllowedOrigins</c>: browser origins allowed for REST, negotiate and the WebSocket upgrade.</summary>
public sealed class OriginOptions : IValidatableObject
{
    public const string Section = "Cors";

    public string[] AllowedOrigins { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var origin in AllowedOrigins)
        {
            // A wildcard cannot be combined with credentials (the SignalR clients send them), and would disable the WebSocket check.
            if (OriginPolicy.Normalize(origin) is null)
            {
                yield return new ValidationResult(
                    $"Cors:AllowedOrigins entry '{origin}' must be an origin such as https://app.example.com (scheme, host and optional port; no path, no wildcard).",
                    [nameof(AllowedOrigins)]);
            }
        }
    }
}

/// <summary><c>RateLimit:*</c>. Zero switches a limit off (e.g. for a load test).</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimit";

    /// <summary>Sends per minute per sender (the token's <c>sub</c>), on this instance.</summary>
    [Range(0, 10_000_000)]
    public int SendsPerMinute { get; set; } = 3000;

    /// <summary>Hub method invocations per minute per user, across the user's connections on this instance.</summary>
    [Range(0, 10_000_000)]
    public int HubInvocationsPerMinute { get; set; } = 600;
}

/// <summary><c>Limits:*</c>: sizes and counts that keep one client from exhausting the server.</summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    /// <summary>Largest request body accepted under <c>/api</c>; larger gets 413.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Largest hub message a client may send; a larger one closes its connection.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxHubMessageBytes { get; set; } = 32 * 1024;

    /// <summary>Hub calls of one connection that run at once; more wait in line.</summary>
    [Range(1, 64)]
    public int MaxParallelInvocationsPerClient { get; set; } = 1;

    /// <summary>Live hub connections of one user on this instance; the next one is closed with a reason.</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerUser { get; set; } = 20;

    /// <summary>
    /// Seconds one write to a client's socket may take before its connection is closed (SignalR's transport send
    /// timeout; its default). Pushes to a client that stopped reading wait meanwhile, up to
    /// <c>Limits:MaxQueuedPushesPerConnection</c> of them; no other client waits for it.
    /// </summary>
    [Range(1, 3600)]
    public int TransportSendTimeoutSeconds { get; set; } = 10;
}

public enum TelemetryExporter
{
    None,
    Console,
    Otlp,
}

/// <summary><c>Telemetry:*</c>: where OpenTelemetry metrics and traces (and with OTLP, logs) go.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    public TelemetryExporter Exporter { get; set; } = TelemetryExporter.None;

    /// <summary>OTLP endpoint; unset = the OTEL_EXPORTER_OTLP_ENDPOINT variable or the exporter's default.</summary>
    public Uri? OtlpEndpoint { get; set; }

    [Range(1, 3600)]
    public int MetricExportIntervalSeconds { get; set; } = 60;

    [Required]
    public string ServiceName { get; set; } = "notifications";
}

/// <summary><c>Shutdown:TimeoutSeconds</c>: how long SIGTERM waits for in-flight requests before aborting them.</summary>
public sealed class ShutdownOptions
{
    public const string Section = "Shutdown";

    [Range(1, 600)]
    public int TimeoutSeconds { get; set; } = 30;
}
