using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Notifications.Domain;

namespace Notifications.Api.Sending;

public sealed record AudienceRequest
{
    public string[]? Users { get; init; }

    public string[]? Roles { get; init; }

    public string[]? Groups { get; init; }

    public bool Everyone { get; init; }
}

/// <summary>The body of <c>POST /api/notifications</c>; every rule of the contract is checked before anything is stored.</summary>
public sealed record SendNotificationRequest
{
    [Required]
    [RegularExpression(NotificationLimits.TypePattern, ErrorMessage = "type must be 1-100 characters of a-z, 0-9, '.', '_' or '-'.")]
    public string? Type { get; init; }

    [Required]
    [StringLength(NotificationLimits.MaxTitleLength, MinimumLength = 1)]
    public string? Title { get; init; }

    [StringLength(NotificationLimits.MaxBodyLength)]
    public string? Body { get; init; }

    [JsonObjectData]
    public JsonElement? Data { get; init; }

    [AllowedValues("low", "normal", "high", "critical", null, ErrorMessage = "priority must be low, normal, high or critical.")]
    public string? Priority { get; init; }

    [InTheFuture]
    public DateTime? ExpiresAt { get; init; }

    [Required]
    [ValidAudience]
    public AudienceRequest? Audience { get; init; }

    public Audience ToAudience() => new(Audience!.Users, Audience.Roles, Audience.Groups, Audience.Everyone);

    /// <summary>
    /// <c>expiresAt</c> in UTC, cut to whole microseconds as every stored time is: each provider then keeps it as sent
    /// (PostgreSQL would round a finer one), and two times it cannot tell apart are the same payload.
    /// </summary>
    public DateTime? ExpiresAtAsStored() => ExpiresAt is { } expires ? StoredTime.ToWholeMicroseconds(ToUtc(expires)) : null;

    public static DateTime ToUtc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Utc => value,
        DateTimeKind.Local => value.ToUniversalTime(),
        _ => DateTime.SpecifyKind(value, DateTimeKind.Utc),
    };
}

public sealed record SendResult(long Id, DateTime CreatedAt);
