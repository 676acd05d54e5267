using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Notifications.Api.Auth;
using Scalar.AspNetCore;

namespace Notifications.Api.Hardening;

/// <summary>Origins, limits, rate limits, log hygiene, telemetry and shutdown, registered and wired in one place.</summary>
public static class HardeningExtensions
{
    public static WebApplicationBuilder AddNotificationsHardening(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<OriginOptions>().BindConfiguration(OriginOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ShutdownOptions>().BindConfiguration(ShutdownOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton<OriginPolicy>();
        services.AddCors();
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>().Configure<OriginPolicy>((cors, origins) =>
            cors.AddDefaultPolicy(policy => policy
                .SetIsOriginAllowed(origins.IsListed)
                .AllowAnyHeader()
                .AllowAnyMethod()

                // The SignalR browser client sends credentials by default; that needs an echoed origin, never "*".
                .AllowCredentials()
                .WithExposedHeaders("Location", "Retry-After", "Idempotent-Replayed")
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));

        services.AddSendRateLimiting();
        services.AddSingleton<HubRateLimitFilter>();
        services.AddSingleton<ConnectionLimitFilter>();
        services.AddOptions<HubOptions>().Configure<IOptions<LimitsOptions>>((hub, limits) =>
        {
            hub.MaximumReceiveMessageSize = limits.Value.MaxHubMessageBytes;
            hub.MaximumParallelInvocationsPerClient = limits.Value.MaxParallelInvocationsPerClient;
            hub.AddFilter<ConnectionLimitFilter>();
            hub.AddFilter<HubRateLimitFilter>();
        });

        services.AddOptions<HostOptions>().Configure<IOptions<ShutdownOptions>>((host, shutdown) =>
            host.ShutdownTimeout = TimeSpan.FromSeconds(shutdown.Value.TimeoutSeconds));
        services.AddHealthChecks().AddCheck<StoppingHealthCheck>(StoppingHealthCheck.Name, tags: ["ready"]);

        builder.AddNotificationsLogging();
        builder.AddNotificationsTelemetry();
        return builder;
    }

    /// <summary>
    /// Middleware that must run before static files and authentication: origin check, CORS, URL checks, the refusal of
    /// new hub connections while stopping, body checks.
    /// </summary>
    public static WebApplication UseNotificationsRequestGuards(this WebApplication app)
    {
        app.UseMiddleware<OriginGuardMiddleware>();
        app.UseMiddleware<ControlCharacterGuardMiddleware>();

        // Browsers apply no CORS to WebSockets (the origin guard refuses a foreign origin on the upgrade), and the CORS
        // middleware resolves its policy provider from the request's DI scope, which a socket would hold while it lives.
        app.UseWhen(context => !HubSocketAuthenticationMiddleware.Handles(context), cors => cors.UseCors());

        // After CORS, so that a browser can read the refusal.
        app.UseMiddleware<StoppingGuardMiddleware>();
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        return app;
    }

    /// <summary>
    /// The hub endpoint's transport options: a connection is closed when its token expires (clients reconnect with a
    /// fresh one), or when one write to its socket takes longer than <see cref="LimitsOptions.TransportSendTimeoutSeconds"/>.
    /// Origins are checked by <see cref="OriginGuardMiddleware"/> for negotiate and the upgrade alike.
    /// </summary>
    public static void ConfigureHubEndpoint(HttpConnectionDispatcherOptions options, LimitsOptions limits)
    {
        options.CloseOnAuthenticationExpiration = true;
        options.TransportSendTimeout = TimeSpan.FromSeconds(limits.TransportSendTimeoutSeconds);
    }

    /// <summary>The OpenAPI browser, in Development only, at <c>/scalar</c>.</summary>
    public static WebApplication MapDevelopmentApiReference(this WebApplication app)
    {
        if (app.Environment.IsDevelopment())
        {
            app.MapScalarApiReference().AllowAnonymous();
        }

        return app;
    }
}
