using Microsoft.Extensions.Logging;

namespace Notifications.Tests.Client;

/// <summary>Collects every log line (SDK and SignalR client) so a test can assert what was, and was not, logged.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly List<(string Category, EventId Event, string Message)> entries = [];

    public IReadOnlyList<(string Category, EventId Event, string Message)> Entries
    {
        get
        {
            lock (entries)
            {
                return [.. entries];
            }
        }
    }

    /// <summary>The SDK's own lines, for a failure message (they hold ids and counts only).</summary>
    public override string ToString() =>
        string.Join('\n', Entries.Where(e => e.Category.StartsWith("Notifications.Client", StringComparison.Ordinal)).Select(e => $"{e.Event.Id} {e.Message}"));

    public ILoggerFactory CreateFactory() =>
        LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Debug).AddProvider(this));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(string category, EventId eventId, string message)
    {
        lock (entries)
        {
            entries.Add((category, eventId, message));
        }
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(category, eventId, formatter(state, exception) + (exception is null ? string.Empty : " " + exception));
    }
}
