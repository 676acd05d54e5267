using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Notifications.Tests.Infrastructure;

public sealed record CapturedLog(string Category, LogLevel Level, EventId Event, string Message, Exception? Exception)
{
    /// <summary>The message and the exception, as a log sink writes them: what a "never logged" check must search.</summary>
    public string Text => Exception is null ? Message : $"{Message} {Exception}";
}

/// <summary>
/// Every log entry at or above <paramref name="minimum"/>, kept in memory so a test can assert what was, and was not,
/// logged: by the app (register it as an <see cref="ILoggerProvider"/>) or by a client (<see cref="CreateFactory"/>).
/// </summary>
public sealed class CapturedLogs(LogLevel minimum = LogLevel.Information) : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. entries];

    /// <summary>For a failure message: the entries of the categories starting with <paramref name="categoryPrefix"/>.</summary>
    public string Lines(string categoryPrefix) =>
        string.Join('\n', Entries.Where(e => e.Category.StartsWith(categoryPrefix, StringComparison.Ordinal)).Select(e => $"{e.Event.Id} {e.Text}"));

    public ILoggerFactory CreateFactory() =>
        LoggerFactory.Create(builder => builder.SetMinimumLevel(minimum).AddProvider(this));

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, minimum, entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, LogLevel minimum, ConcurrentQueue<CapturedLog> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                entries.Enqueue(new CapturedLog(category, logLevel, eventId, formatter(state, exception), exception));
            }
        }
    }
}
