namespace Notifications.Domain;

/// <summary>A rule of the domain was broken; the message is safe to show to the caller.</summary>
public class DomainException(string message) : Exception(message);

/// <summary>The caller is authenticated but the rule forbids the action (HTTP 403).</summary>
public sealed class ForbiddenException(string message) : DomainException(message);

/// <summary>The thing does not exist, or the caller may not know that it exists (HTTP 404).</summary>
public sealed class NotFoundException(string message) : DomainException(message);

/// <summary>The request conflicts with what is stored (HTTP 409).</summary>
public sealed class ConflictException(string message) : DomainException(message);
