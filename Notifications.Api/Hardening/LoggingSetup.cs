using Microsoft.IdentityModel.Logging;

namespace Notifications.Api.Hardening;

/// <summary>Log hygiene and correlation: no URLs with tokens, no token contents, trace ids on every line.</summary>
public static class LoggingSetup
{
    /// <summary>Categories that write raw request targets (with <c>?access_token=</c>) below this level; capped for every provider.</summary>
    private static readonly (string Category, LogLevel Minimum)[] UrlLoggingCategories =
    [
        ("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning),
        ("Microsoft.AspNetCore.Server.Kestrel.BadRequests", LogLevel.Information),
    ];

    public static WebApplicationBuilder AddNotificationsLogging(this WebApplicationBuilder builder)
    {
        // Every log line inside a request or hub call carries TraceId/SpanId in its scope (json console: "Scopes").
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);

        // A PostConfigure runs after the configured rules are bound, and a rule per provider outranks a provider's own
        // "Default", so no Logging:* setting can turn the URL-writing hosting log back on.
        builder.Services.PostConfigure<LoggerFilterOptions>(options =>
        {
            var providers = options.Rules.Select(r => r.ProviderName).Append(null).Distinct().ToList();
            foreach (var provider in providers)
            {
                foreach (var (category, minimum) in UrlLoggingCategories)
                {
                    options.Rules.Add(new LoggerFilterRule(provider, category, minimum, null));
                }
            }
        });

        // IdentityModel's defaults already hide tokens and PII in its messages; pinned so nobody flips them for a debug session.
        IdentityModelEventSource.ShowPII = false;
        IdentityModelEventSource.LogCompleteSecurityArtifact = false;
        return builder;
    }
}
