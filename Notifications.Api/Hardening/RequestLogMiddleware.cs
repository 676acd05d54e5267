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

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;

        // Probes would drown everything else at Information.
        var level = request.Path.StartsWithSegments("/health") ? LogLevel.Debug : LogLevel.Information;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            logger.Log(LogLevel.Debug, "Request {Method} {Path} started", request.Method, request.Path);
        }

        var started = Stopwatch.GetTimestamp();
        if (WebSocketUpgrade.IsRequested(context))
        {
            // A WebSocket request lasts as long as its connection: its line is written by a completion callback
            // rather than by an async frame that every idle connection would keep.
            context.Response.OnCompleted(static state => ((Finish)state).WriteAsync(), new Finish(this, context, level, started));
            return next(context);
        }

        return LogAroundAsync(context, level, started);
    }

    private async Task LogAroundAsync(HttpContext context, LogLevel level, long started)
    {
        try
        {
            await next(context);
        }
        finally
        {
            Finished(context, level, started);
        }
    }

    private void Finished(HttpContext context, LogLevel level, long started)
    {
        // Checked first: the arguments would be boxed into an array on every request even when nothing is written.
        var status = context.Response.StatusCode;
        var finishedLevel = status >= StatusCodes.Status500InternalServerError ? LogLevel.Warning : level;
        if (logger.IsEnabled(finishedLevel))
        {
            logger.Log(finishedLevel, "Request {Method} {Path} finished {StatusCode} in {ElapsedMilliseconds:0.0} ms",
                context.Request.Method, context.Request.Path, status, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private sealed record Finish(RequestLogMiddleware Log, HttpContext Context, LogLevel Level, long Started)
    {
        public Task WriteAsync()
        {
            Log.Finished(Context, Level, Started);
            return Task.CompletedTask;
        }
    }
}
