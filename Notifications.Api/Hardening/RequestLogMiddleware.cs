using System.Diagnostics;

namespace Notifications.Api.Hardening;

/// <summary>
/// One log line per request with method, path, status and duration, in place of ASP.NET Core's hosting log, which
/// writes the full URL: for the hub that URL carries <c>?access_token=</c>. The query string is never logged here.
/// </summary>
public sealed class RequestLogMiddleware(RequestDelegate next, ILoggerFactory loggers)
{
    public const string Category = "Notifications.Requests";

    private readonly ILogger logger = loggers.CreateLogger(Category);

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;

        // Probes would drown everything else at Information.
        var level = request.Path.StartsWithSegments("/health") ? LogLevel.Debug : LogLevel.Information;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            logger.Log(LogLevel.Debug, "Request {Method} {Path} started", request.Method, request.Path);
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            // Checked first: the arguments would be boxed into an array on every request even when nothing is written.
            var status = context.Response.StatusCode;
            var finishedLevel = status >= StatusCodes.Status500InternalServerError ? LogLevel.Warning : level;
            if (logger.IsEnabled(finishedLevel))
            {
                logger.Log(finishedLevel, "Request {Method} {Path} finished {StatusCode} in {ElapsedMilliseconds:0.0} ms",
                    request.Method, request.Path, status, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
    }
}
