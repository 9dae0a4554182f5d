using System.Diagnostics;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>
/// A clock that runs like the real one, from the real current time plus <paramref name="startOffset"/> (default none), and that a
/// test can move forward.
/// </summary>
public sealed class MutableTimeProvider(TimeSpan startOffset = default) : TimeProvider
{
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow + startOffset;
    private readonly Stopwatch _running = Stopwatch.StartNew();
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => _start + _running.Elapsed + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
