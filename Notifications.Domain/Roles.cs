namespace Notifications.Domain;

public static class Roles
{
    /// <summary>May send to any audience, manage groups and read the admin endpoints.</summary>
    public const string Admin = "admin";

    /// <summary>May send to users and groups, not to roles or everyone.</summary>
    public const string Publisher = "publisher";
}
