namespace IdentityServer.Tests.Infrastructure;

/// <summary>A clock the test moves forward; starts at the real current time.</summary>
public sealed class MutableTimeProvider : TimeProvider
{
    private DateTimeOffset _now = DateTimeOffset.UtcNow;
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now = _now.Add(by);
}
