namespace Notifications.LoadTest.Seeding;

/// <summary>
/// What S5 stores, whichever way it is seeded (public API or bulk SQL): `Notifications` sends in order, every tenth
/// to everyone and the rest to one of `Users` users each; halfway, every even user reads all (a watermark at the
/// newest id) and every odd user only asks for the unread count (nothing stored). The bulk seeders compute the same
/// functions in SQL, so a change here must be made there too.
/// </summary>
public sealed record SeedShape(int Notifications, int Users, int PayloadBytes)
{
    public const string SenderId = "load-admin";

    public const string Type = "load.test";

    public const string Title = "Load test";

    /// <summary>Priority.Normal in the service's enum (low 0, normal 1, high 2, critical 3).</summary>
    public const int PriorityNormal = 1;

    /// <summary>Multiplier of the user hash (Knuth's multiplicative hash, mod 2^32): spreads sends evenly, same in SQL.</summary>
    public const long UserHashMultiplier = 2654435761;

    /// <summary>Sends before the users make themselves known.</summary>
    public int FirstHalf => Notifications / 2;

    public string Body => new('x', Math.Max(0, PayloadBytes));

    public static bool IsBroadcast(long seq) => seq % 10 == 0;

    /// <summary>The user index a targeted send goes to; deterministic, so both seeding paths agree.</summary>
    public static int UserOf(long seq, int users) => (int)((seq * UserHashMultiplier) % 4_294_967_296L % users);
}
