using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>Keeps every log entry the server writes (at the configured level), so tests can assert what is and is not logged.</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose() { }

    private sealed class Logger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(logLevel, category, formatter(state, exception)));
    }
}

/// <summary>One log entry: level, category and the rendered message.</summary>
public sealed record LogEntry(LogLevel Level, string Category, string Message);
