"""The workspace's routes: sign-in, feed and reviews, charts, groups, jobs and keywords."""
