using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Notifications.Api.Hardening;

/// <summary>
/// OpenTelemetry metrics and traces, exported as <c>Telemetry:Exporter</c> says (none | console | otlp). With none
/// nothing is registered: the meters still exist for <c>dotnet-counters</c>, but nothing collects them in-process.
/// </summary>
public static class TelemetrySetup
{
    /// <summary>The built-in meters worth exporting: requests, Kestrel connections, SignalR/HTTP connections, rate limiting.</summary>
    public static readonly string[] AspNetCoreMeters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Http.Connections",
        "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.RateLimiting",
        "Microsoft.AspNetCore.Authentication",
        "Microsoft.AspNetCore.Authorization",
    ];

    public const string SignalRActivitySource = "Microsoft.AspNetCore.SignalR.Server";

    public static WebApplicationBuilder AddNotificationsTelemetry(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<NotificationsMetrics>();

        var telemetry = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (telemetry.Exporter == TelemetryExporter.None)
        {
            return builder;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(telemetry.ServiceName, serviceInstanceId: Environment.MachineName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(AspNetCoreMeters).AddMeter(NotificationsMetrics.MeterName);
                AddExporter(metrics, telemetry);
            })
            .WithTracing(tracing =>
            {
                tracing.AddAspNetCoreInstrumentation(o =>
                {
                    o.Filter = context => !context.Request.Path.StartsWithSegments("/health");

                    // The hub's query string holds the access token; the instrumentation redacts values, this drops it whole.
                    o.EnrichWithHttpRequest = (activity, _) => activity.SetTag("url.query", null);
                });
                tracing.AddSource(SignalRActivitySource);
                AddExporter(tracing, telemetry);
            });

        if (telemetry.Exporter == TelemetryExporter.Otlp)
        {
            // Console logs already go to stdout; with OTLP the logs travel with the traces (trace ids attached).
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeScopes = true;
                logging.AddOtlpExporter(o => ApplyEndpoint(o, telemetry));
            });
        }

        return builder;
    }

    private static void AddExporter(MeterProviderBuilder metrics, TelemetryOptions telemetry)
    {
        var interval = telemetry.MetricExportIntervalSeconds * 1000;
        if (telemetry.Exporter == TelemetryExporter.Console)
        {
            metrics.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval);
        }
        else
        {
            metrics.AddOtlpExporter((exporter, reader) =>
            {
                ApplyEndpoint(exporter, telemetry);
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
            });
        }
    }

    private static void AddExporter(TracerProviderBuilder tracing, TelemetryOptions telemetry)
    {
        if (telemetry.Exporter == TelemetryExporter.Console)
        {
            tracing.AddConsoleExporter();
        }
        else
        {
            tracing.AddOtlpExporter(o => ApplyEndpoint(o, telemetry));
        }
    }

    private static void ApplyEndpoint(OpenTelemetry.Exporter.OtlpExporterOptions exporter, TelemetryOptions telemetry)
    {
        if (telemetry.OtlpEndpoint is { } endpoint)
        {
            exporter.Endpoint = endpoint;
        }
    }
}
