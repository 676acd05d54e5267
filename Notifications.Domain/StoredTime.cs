namespace Notifications.Domain;

/// <summary>Times as every supported database keeps them.</summary>
public static class StoredTime
{
    /// <summary>
    /// The UTC time cut to whole microseconds. PostgreSQL keeps microseconds (and rounds, so a time could come back up to
    /// half a microsecond later than it went in), SQLite and SQL Server keep more: a time cut before it is stored reads
    /// back as it was answered, and a join and a send in the same microsecond compare as the visibility rule means.
    /// </summary>
    public static DateTime ToWholeMicroseconds(DateTime value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerMicrosecond), DateTimeKind.Utc);
}
